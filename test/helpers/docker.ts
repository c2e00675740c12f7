import { existsSync } from "node:fs";

// Ryuk (testcontainers' reaper) is an image from a registry, and no registry is
// reachable here: without this, every container start fails pulling it. Each
// suite stops what it started in its own afterAll instead.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= "true";

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

export function noteSkipped(suite: string, why = "no Docker engine answers here"): void {
  console.warn(`NOTE: ${suite} skipped: ${why} (the loopback servers are the default and always run)`);
}
