import { existsSync } from "node:fs";

/**
 * Cheap, up-front: is there a Docker engine for testcontainers? (This
 * machine has the docker client but no engine.) Container suites run only
 * when one answers on this host, so tests stay on loopback.
 */
export async function dockerEngineAnswers(): Promise<boolean> {
  if (!existsSync("/var/run/docker.sock") && !process.env.DOCKER_HOST) return false;
  if (process.env.DOCKER_HOST && !/^(unix:|tcp:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/])/.test(process.env.DOCKER_HOST)) return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export function noteSkipped(suite: string): void {
  console.warn(`NOTE: ${suite} skipped: no Docker engine answers here (the loopback servers above are the default and always run)`);
}
