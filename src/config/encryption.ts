/** config/: `encryption: { recipients: [...] }`, checked key by key so the error names the entry. */
import { z } from "zod";
import { recipientProblem } from "../encryption/age.js";

export const encryptionSchema = z.strictObject({
  recipients: z
    .array(
      z.string({ error: "each recipient must be a string (an age public key, age1…)" }).superRefine((r, ctx) => {
        const problem = recipientProblem(r);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
      { error: "recipients must be a list of age public keys (age1…)" },
    )
    .min(1, { error: "list at least one recipient (an age public key, age1…); leave encryption out to store copies unencrypted" }),
});
export type EncryptionConfig = z.infer<typeof encryptionSchema>;
