/**
 * The AWS SDK prints a 9-line NodeVersionSupportWarning (process.emitWarning,
 * from @aws-sdk/core's emitWarningIfUnsupportedVersion) each time a process
 * on Node < 22 builds its first S3 client: on every nightly run, past
 * --log-level silent, into every cron mail. The SDK checks its own switch,
 * AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true, when the client is
 * built, and that switch silences this one warning and nothing else (other
 * Node warnings still print). An operator who sets the variable (to anything)
 * keeps their choice. Called once, by the bin, before any client exists; the
 * fact itself is in README ("AWS SDK on Node 20").
 */
export const AWS_NODE_WARNING_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

export function silenceAwsNodeVersionWarning(env: NodeJS.ProcessEnv): void {
  if (env[AWS_NODE_WARNING_SWITCH] === undefined) env[AWS_NODE_WARNING_SWITCH] = "true";
}
