/** metrics: in triplicate.yml: where the Prometheus text file goes (node_exporter's textfile collector). */
import { z } from "zod";

export const metricsSchema = z.strictObject({
  textfile: z
    .string({ error: "textfile must be a path" })
    .min(1, { error: "textfile must be a path" })
    // node_exporter's textfile collector reads only *.prom files: any other name would be silently ignored.
    .refine((p) => p.endsWith(".prom"), { error: "textfile must end in .prom (node_exporter's textfile collector reads only *.prom files)" }),
});
export type MetricsConfig = z.infer<typeof metricsSchema>;
