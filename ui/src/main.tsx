import { StrictMode, Suspense, lazy, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Link, Route, Routes, useParams } from "react-router-dom";
import "./theme.css";
import { ProjectsView } from "./views/Projects";
import { TracesView } from "./views/Traces";
import { TraceView } from "./views/Trace";
import { SessionsView, SessionView } from "./views/Sessions";

// The prompt pages load on first visit, outside the initial bundle.
const PromptsListView = lazy(() => import("./prompts/PromptsView").then((m) => ({ default: m.PromptsListView })));
const PromptView = lazy(() => import("./prompts/PromptsView").then((m) => ({ default: m.PromptView })));
const loading = <div className="page muted">loading…</div>;

function ThemeToggle() {
  const [theme, setTheme] = useState(() => localStorage.getItem("osprey-theme") ?? (matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("osprey-theme", theme);
  }, [theme]);
  return (
    <button className="theme-toggle" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label="toggle theme">
      {theme === "dark" ? "☀ light" : "☾ dark"}
    </button>
  );
}

function Crumbs() {
  const { project } = useParams();
  return project ? (
    <>
      <span className="sep">/</span>
      <Link to={`/projects/${encodeURIComponent(project)}`}>{project}</Link>
      <span className="sep">·</span>
      <Link to={`/projects/${encodeURIComponent(project)}/sessions`}>sessions</Link>
    </>
  ) : null;
}

function Shell({ children }: { children: React.ReactNode }) {
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">
          Osprey
        </Link>
        <Routes>
          <Route path="/projects/:project/*" element={<Crumbs />} />
          <Route path="*" element={null} />
        </Routes>
        <span className="spacer" />
        <Link to="/prompts">Prompts</Link>
        <ThemeToggle />
      </header>
      <main>{children}</main>
    </div>
  );
}

function NotFound() {
  return (
    <div className="page">
      <h2>Page not found</h2>
      <Link to="/">Back to projects</Link>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <Shell>
        <Routes>
          <Route path="/" element={<ProjectsView />} />
          <Route path="/projects" element={<ProjectsView />} />
          <Route path="/projects/:project" element={<TracesView />} />
          <Route path="/projects/:project/traces/:traceId" element={<TraceView />} />
          <Route path="/projects/:project/sessions" element={<SessionsView />} />
          <Route path="/projects/:project/sessions/:sessionId" element={<SessionView />} />
          <Route path="/prompts" element={<Suspense fallback={loading}><PromptsListView /></Suspense>} />
          <Route path="/prompts/:prompt" element={<Suspense fallback={loading}><PromptView /></Suspense>} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Shell>
    </BrowserRouter>
  </StrictMode>,
);
