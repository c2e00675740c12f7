/** One metric sample, and the Prometheus text format it is written in (node_exporter's textfile collector). */
export interface Sample {
  name: string;
  help: string;
  type: "gauge" | "counter";
  labels: Record<string, string>;
  value: number;
}

export const sampleKey = (s: Pick<Sample, "name" | "labels">): string =>
  `${s.name}{${Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

/** Families in name order, each with its HELP and TYPE once, samples sorted: the same state always gives the same file. */
export function renderText(samples: readonly Sample[]): string {
  const byName = new Map<string, Sample[]>();
  for (const s of samples) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const family = byName.get(name)!;
    lines.push(`# HELP ${name} ${family[0].help}`, `# TYPE ${name} ${family[0].type}`);
    for (const s of family.sort((a, b) => sampleKey(a).localeCompare(sampleKey(b)))) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
      lines.push(`${name}${labels ? `{${labels}}` : ""} ${Number.isFinite(s.value) ? s.value : "NaN"}`);
    }
  }
  return lines.join("\n") + "\n";
}
