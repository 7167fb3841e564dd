import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The gateway serves dist/ at "/" (services/query/src/ui_assets.cpp); hashed files live under /assets/.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: { target: "es2020", sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/v1": "http://127.0.0.1:6006", "/osprey": "http://127.0.0.1:6006" } },
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.tsx", "src/**/*.test.ts"] },
});
