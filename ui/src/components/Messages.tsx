import type { ChatMessage } from "../attrs";
import { tryJson } from "../attrs";
import { JsonTree } from "./JsonTree";
import { Markdown } from "./Markdown";

// Text that is JSON shows as a tree, anything else as markdown.
export function RichText({ text, mimeType }: { text: string; mimeType?: string }) {
  const parsed = mimeType === "text/plain" ? undefined : tryJson(text);
  if (parsed !== undefined) return <JsonTree value={parsed} />;
  return <Markdown text={text} />;
}

function ToolCallView({ name, args, id }: { name: string; args: string; id?: string }) {
  const parsed = tryJson(args);
  return (
    <div className="tool-call" data-testid="tool-call">
      <div className="tool-call-head">
        <span className="badge">tool call</span> <code>{name || "(unnamed)"}</code>
        {id && <span className="muted"> · {id}</span>}
      </div>
      {parsed !== undefined ? <JsonTree value={parsed} /> : <pre className="md-code">{args}</pre>}
    </div>
  );
}

// A conversation: one bubble per message, tool calls inside the assistant's bubble, tool results
// labelled with the call they answer.
export function Messages({ messages, title }: { messages: ChatMessage[]; title?: string }) {
  if (!messages.length) return null;
  return (
    <section className="messages" aria-label={title ?? "messages"}>
      {title && <h4>{title}</h4>}
      {messages.map((m, i) => (
        <div key={i} className={`message role-${m.role}`} data-testid="message" data-role={m.role}>
          <div className="message-role">
            {m.role}
            {m.name && <span className="muted"> · {m.name}</span>}
            {m.toolCallId && <span className="muted"> · result of {m.toolCallId}</span>}
          </div>
          {m.content && <RichText text={m.content} />}
          {m.toolCalls.map((tc, j) => (
            <ToolCallView key={j} name={tc.name} args={tc.arguments} id={tc.id} />
          ))}
        </div>
      ))}
    </section>
  );
}
