import { AdapterError, DestinationConfigError, NotFoundError, PermanentError, TransientError } from "../errors.js";

/** A node fs error as the adapter error class that says what to do about it. */
export function mapFsError(err: unknown, ctx: { adapter: string; op: string; key?: string }): AdapterError {
  if (err instanceof AdapterError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const message = (err as Error)?.message ?? String(err);
  const c = { ...ctx, cause: err };
  switch (code) {
    case "ENOENT":
      return new NotFoundError("no such file", c);
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new DestinationConfigError(`permission denied (${code}): make the folder writable by this user`, c);
    case "ENOTDIR":
    case "EISDIR":
      return new DestinationConfigError(`path is not what it should be (${code})`, c);
    case "ENOSPC":
    case "EDQUOT":
      return new PermanentError(`no space left on the destination (${code})`, c);
    case "EIO":
    case "EBUSY":
    case "EAGAIN":
    case "EMFILE":
    case "ENFILE":
    case "ETIMEDOUT":
      return new TransientError(`${code}: ${message}`, c);
    case "ABORT_ERR":
      return new TransientError("aborted (timeout)", c);
    default:
      return new PermanentError(message, c);
  }
}
