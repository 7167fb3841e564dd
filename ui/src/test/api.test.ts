import { describe, expect, it } from "vitest";
import { parseMultipartTables } from "../api";

describe("parseMultipartTables", () => {
  it("reads every pandas table part of a multipart/mixed answer and strips the column prefixes", () => {
    const table = (rows: object[]) => JSON.stringify({ schema: { fields: [] }, data: rows });
    const body =
      `--b0X\r\nContent-Type: application/json\r\n\r\n${table([{ "0_context.span_id": "aa", "1_name": "llm" }])}\r\n` +
      `--b0X\r\nContent-Type: application/json\r\n\r\n${table([{ "0_context.span_id": "bb", "12_name": "tool" }])}\r\n--b0X--\r\n`;
    expect(parseMultipartTables(body, "multipart/mixed; boundary=b0X")).toEqual([
      { "context.span_id": "aa", name: "llm" },
      { "context.span_id": "bb", name: "tool" },
    ]);
  });
  it("an empty answer has no rows", () => {
    expect(parseMultipartTables("--b\r\n--b--\r\n", "multipart/mixed; boundary=b")).toEqual([]);
  });
});
