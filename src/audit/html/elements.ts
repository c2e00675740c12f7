import { formatUtc } from "../words.js";

// Small HTML builders. Text arguments are escaped here; table cells are HTML the caller has already escaped.

/** Escapes text and attribute values alike. */
export function escapeHtml(s: string | number | boolean | undefined | null): string {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
const esc = escapeHtml;

export function badge(kind: "ok" | "bad" | "warn" | "info", text: string): string {
  return `<span class="badge ${kind}">${esc(text)}</span>`;
}

export function timeTag(iso: string | undefined, text?: string): string {
  if (!iso) return "";
  return `<time datetime="${esc(iso)}">${esc(text ?? formatUtc(iso))}</time>`;
}

/** A table cell: raw (already escaped) HTML, optionally with a class. */
export type Cell = string | { cls: string; html: string };

export function td(cls: string, html: string): Cell {
  return { cls, html };
}

export function tableHtml(cls: string, head: (string | [string, string])[], rows: { cls?: string; cells: Cell[] }[]): string {
  const th = head.map((h) => (Array.isArray(h) ? `<th scope="col" class="${h[1]}">${esc(h[0])}</th>` : `<th scope="col">${esc(h)}</th>`)).join("");
  const cell = (c: Cell) => (typeof c === "string" ? `<td>${c}</td>` : `<td class="${c.cls}">${c.html}</td>`);
  const body = rows.map((r) => `<tr${r.cls ? ` class="${r.cls}"` : ""}>${r.cells.map(cell).join("")}</tr>`);
  return `<table class="${cls}">\n<thead><tr>${th}</tr></thead>\n<tbody>\n${body.join("\n")}\n</tbody>\n</table>`;
}
