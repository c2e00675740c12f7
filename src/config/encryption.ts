/** config/: `encryption: { recipients: [...] }`, checked key by key so the error names the entry. */
import { z } from "zod";
import { canonicalRecipient, recipientProblem } from "../encryption/age.js";

export const encryptionSchema = z.strictObject({
  recipients: z
    .array(
      z
        .string({ error: "each recipient must be a string (an age public key, age1…, or an ssh-ed25519 public key line)" })
        .superRefine((r, ctx) => {
          const problem = recipientProblem(r);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        })
        // Recorded and compared without an SSH key's comment: see canonicalRecipient.
        .transform(canonicalRecipient),
      { error: "recipients must be a list of public keys (age1…, or ssh-ed25519 AAAA…)" },
    )
    .min(1, { error: "list at least one recipient (an age public key, age1…, or an ssh-ed25519 public key line); leave encryption out to store copies unencrypted" }),
});
export type EncryptionConfig = z.infer<typeof encryptionSchema>;
