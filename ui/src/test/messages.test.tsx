import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { Messages } from "../components/Messages";
import { nest, toMessages } from "../attrs";

describe("toMessages", () => {
  it("reads nested OpenInference messages with tool calls and tool results", () => {
    const msgs = toMessages([
      { message: { role: "system", content: "You are terse." } },
      { message: { role: "user", content: "Weather in Paris?" } },
      {
        message: {
          role: "assistant",
          tool_calls: [{ tool_call: { id: "call_1", function: { name: "get_weather", arguments: '{"city":"Paris"}' } } }],
        },
      },
      { message: { role: "tool", content: '{"temp_c": 21}', tool_call_id: "call_1" } },
    ]);
    expect(msgs.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(msgs[2].toolCalls).toEqual([{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }]);
    expect(msgs[3].toolCallId).toBe("call_1");
  });

  it("reads flattened keys and multi-part contents the same way", () => {
    const flat = nest({ "llm.input_messages": [{ "message.role": "user", "message.contents": [{ "message_content.type": "text", "message_content.text": "part one" }] }] });
    const msgs = toMessages((flat as { llm: { input_messages: unknown } }).llm.input_messages);
    expect(msgs).toEqual([{ role: "user", content: "part one", toolCalls: [], name: undefined, toolCallId: undefined }]);
  });
});

describe("<Messages>", () => {
  it("renders a bubble per role, markdown content, and tool call arguments as a JSON tree", () => {
    render(
      <Messages
        messages={toMessages([
          { message: { role: "user", content: "Use **bold** and `code`" } },
          { message: { role: "assistant", content: "", tool_calls: [{ tool_call: { function: { name: "lookup", arguments: '{"q":"osprey"}' } } }] } },
        ])}
      />,
    );
    const bubbles = screen.getAllByTestId("message");
    expect(bubbles.map((b) => b.dataset.role)).toEqual(["user", "assistant"]);
    expect(bubbles[0].querySelector("strong")?.textContent).toBe("bold");
    expect(bubbles[0].querySelector("code")?.textContent).toBe("code");
    const call = screen.getByTestId("tool-call");
    expect(call.textContent).toContain("lookup");
    expect(call.textContent).toContain('"osprey"');
  });

  it("never injects HTML from message content", () => {
    render(<Messages messages={toMessages([{ message: { role: "user", content: "<img src=x onerror=alert(1)>" } }])} />);
    expect(document.querySelector("img")).toBeNull();
    expect(screen.getByTestId("message").textContent).toContain("<img src=x onerror=alert(1)>");
  });
});
