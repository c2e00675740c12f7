import { describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/runtime/errors.js";
import { EXAMPLE_CONFIG } from "../../src/cli/init.js";
import { parseDuration } from "../../src/runtime/duration.js";

const good = `
databases: [{ name: app, path: ./app.db }]
destinations:
  - { name: local, type: local, path: ./backups, retention: { keepDaily: 7, keepWithin: 2w } }
`;

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, "/etc/triplicate/t.yml", env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.length ? (err as ConfigError).problems : [(err as Error).message];
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("loads a minimal config with defaults, resolving paths from the config's folder", () => {
    const cfg = parseConfig(good, "/etc/triplicate/t.yml", {});
    expect(cfg.databases[0].path).toBe("/etc/triplicate/app.db");
    expect(cfg.destinations[0]).toMatchObject({ type: "local", path: "/etc/triplicate/backups" });
    expect(cfg.policy).toEqual({ copies: 3, media: 2, offsite: 1, verifiedLevel: "store-checksum" });
    expect(cfg.destinations[0].retention?.keepWithin?.ms).toBe(14 * 86_400_000);
  });

  it("resolves an SFTP key file from the config's folder but leaves the remote path alone", () => {
    const cfg = parseConfig(
      good.replace("- { name: local, type: local, path: ./backups", '- { name: nas, type: sftp, host: nas.lan, username: b, privateKeyPath: ./id, hostKeySha256: "SHA256:' + "A".repeat(43) + '", path: backups'),
      "/etc/triplicate/t.yml",
      {},
    );
    expect(cfg.destinations[0]).toMatchObject({ type: "sftp", privateKeyPath: "/etc/triplicate/id", path: "backups", port: 22, transfer: "auto" });
  });

  it("guard: defaults, the example's line, and percentages only with a % sign", () => {
    const cfg = parseConfig(good, "/t.yml", {});
    expect(cfg.guard).toMatchObject({ maxShrink: 0.5, minTableRows: 1000, maxDelete: 0.5 });
    expect(cfg.guard.maxClockSkew.ms).toBe(300_000);
    const line = EXAMPLE_CONFIG.split("\n").find((l) => l.startsWith("# guard:"))!.slice(2);
    expect(parseConfig(`${good}${line}\n`, "/t.yml", {}).guard.maxShrink).toBe(0.5);
    expect(parseConfig(`${good}guard: { maxShrink: 80% }\n`, "/t.yml", {}).guard).toMatchObject({ maxShrink: 0.8, maxDelete: 0.5 });
    expect(problems(`${good}guard: { maxShrink: 0.5 }\n`)).toEqual([expect.stringMatching(/guard\.maxShrink: must be a percentage from 0% to 100% such as 50%, not 0\.5/)]);
    expect(problems(`${good}guard: { maxDelete: 150% }\n`)).toEqual([expect.stringMatching(/guard\.maxDelete.*not "150%"/)]);
    expect(problems(`${good}guard: { maxClockSkew: 5m }\n`)).toEqual([expect.stringMatching(/guard\.maxClockSkew.*'m' is ambiguous/)]);
    expect(problems(`${good}guard: { maxSkew: 5min }\n`)).toEqual([expect.stringMatching(/unknown setting\(s\) "maxSkew"/)]);
  });

  it("accepts the example written by init", () => {
    expect(() => parseConfig(EXAMPLE_CONFIG, "/x/triplicate.yml", {})).not.toThrow();
  });

  it("interpolates ${ENV} and names the field of a missing variable", () => {
    const yaml = good.replace("./backups", '"${BACKUP_ROOT}/x"');
    expect(parseConfig(yaml, "/t.yml", { BACKUP_ROOT: "/srv" }).destinations[0]).toMatchObject({ path: "/srv/x" });
    expect(problems(yaml)).toEqual([expect.stringMatching(/destinations\[0\]\.path: environment variable BACKUP_ROOT is not set/)]);
    expect(parseConfig(good.replace("./backups", () => '"/b/$${LITERAL}"'), "/t.yml", {}).destinations[0]).toMatchObject({ path: "/b/${LITERAL}" });
  });

  it.each([
    ["a database name that could escape a destination root", good.replace("name: app", "name: ../etc"), /databases\[0\]\.name \(in databases "\.\.\/etc"\): database name may only use letters/],
    ["a destination name with a slash", good.replace("name: local", "name: a/b"), /destinations\[0\]\.name/],
    ["an unknown setting, named with its entry", good.replace("type: local,", "type: local, pth: x,"), /destinations\[0\] \(in destinations "local"\): unknown setting\(s\) "pth"/],
    ["an unknown destination type", good.replace("type: local", "type: ftp"), /type must be one of: local, sftp, s3/],
    ["a duplicate database name", good.replace("databases: [{ name: app, path: ./app.db }]", "databases: [{ name: app, path: ./a.db }, { name: app, path: ./b.db }]"), /"app" is used twice/],
    ["a negative keep count", good.replace("keepDaily: 7", "keepDaily: -1"), /keepDaily must be 0 or more/],
    ["an ambiguous duration", good.replace("keepWithin: 2w", "keepWithin: 30m"), /'m' is ambiguous; write 'mo' for months or 'min' for minutes/],
    ["no destinations", "databases: [{ name: app, path: ./app.db }]\ndestinations: []\n", /list at least one destination/],
    [
      "an SFTP destination without a host key (never connect to an unknown host)",
      good.replace("- { name: local, type: local, path: ./backups", "- { name: nas, type: sftp, host: nas.lan, username: backup, privateKeyPath: ./id, path: /volume1/b"),
      /destinations\[0\] \(in destinations "nas"\): hostKeySha256 or knownHostsPath is required.*ssh-keyscan -p 22 nas.lan \| ssh-keygen -lf -/,
    ],
    [
      "an S3 destination with a key id but no secret",
      good.replace("- { name: local, type: local, path: ./backups", "- { name: s3, type: s3, bucket: backups, accessKeyId: AKIAEXAMPLE"),
      /destinations\[0\]\.secretAccessKey \(in destinations "s3"\): accessKeyId is set, so secretAccessKey is needed too/,
    ],
    ["retention whose every rule is 0", good.replace("retention: { keepDaily: 7, keepWithin: 2w }", "retention: { keepLast: 0, keepDaily: 0 }"), /every keep rule is 0/],
    [
      "two destinations on the same folder",
      good.replace("- { name: local, type: local, path: ./backups, retention: { keepDaily: 7, keepWithin: 2w } }", "- { name: a, type: local, path: ./backups }\n  - { name: b, type: local, path: ./backups }"),
      /destinations\[1\] \(in destinations "b"\): points at the same place as destination "a"/,
    ],
    ["a missing path", good.replace(", path: ./app.db", ""), /databases\[0\]\.path \(in databases "app"\): missing; add it/],
    ["a value of the wrong type (not called missing)", good.replace("path: ./backups,", "path: ./backups, restorePriority: abc,"), /destinations\[0\]\.restorePriority \(in destinations "local"\): must be a number, not "abc"/],
    ["a fraction where a whole number is needed", good.replace("path: ./backups,", "path: ./backups, restorePriority: 1.5,"), /restorePriority \(in destinations "local"\): must be a whole number, not 1\.5/],
  ])("refuses %s with a message that names the field", (_name, yaml, pattern) => {
    expect(problems(yaml).join("\n")).toMatch(pattern);
  });

  const sftp = (extra: string) =>
    good.replace("- { name: local, type: local, path: ./backups", `- { name: nas, type: sftp, host: nas.lan, username: b, hostKeySha256: "SHA256:${"A".repeat(43)}", path: /b, ${extra}`);
  const s3 = (extra: string) => good.replace("- { name: local, type: local, path: ./backups", `- { name: s3, type: s3, bucket: b, ${extra}`);

  it.each([
    ["an unquoted numeric password", sftp("password: 83125517"), "83125517", /destinations\[0\]\.password \(in destinations "nas"\): must be text \(value hidden\)/],
    ["a numeric key passphrase", sftp("privateKeyPath: ./id, privateKeyPassphrase: 4711"), "4711", /privateKeyPassphrase .*must be text \(value hidden\)/],
    ["a numeric secret access key", s3("accessKeyId: AKIAEXAMPLE, secretAccessKey: 123456789"), "123456789", /secretAccessKey .*must be text \(value hidden\)/],
    ["a numeric key id", s3("accessKeyId: 998877, secretAccessKey: abc"), "998877", /accessKeyId .*must be text \(value hidden\)/],
    ["a session token given as a list", s3("accessKeyId: A, secretAccessKey: b, sessionToken: [tok3n-part]"), "tok3n-part", /sessionToken .*must be text \(value hidden\)/],
    ["a URL carrying a token", s3("endpoint: 42, region: [\"https://hooks.example/x?token=s3cr3t\"]"), "s3cr3t", /region .*must be text \(value hidden\)/],
  ])("never prints the value of a secret: %s", (_name, yaml, secret, pattern) => {
    const text = problems(yaml).join("\n");
    expect(text).toMatch(pattern);
    expect(text).not.toContain(secret);
  });

  it.each(["CON", "con", "Nul", "AUX", "prn", "COM0", "COM1", "com9", "LPT0", "LPT1", "lpt9"])("refuses the reserved device name %s (an SMB share cannot hold it)", (name) => {
    expect(problems(good.replace("name: app", `name: ${name}`)).join("\n")).toMatch(
      new RegExp(`databases\\[0\\]\\.name .*"${name}" is a reserved device name on Windows .*choose another name`),
    );
    expect(problems(good.replace("name: local", `name: ${name}`)).join("\n")).toMatch(/destinations\[0\]\.name .*reserved device name/);
  });

  it.each(["console", "COM10", "LPT", "nul1x", "auxiliary"])("accepts %s, which only looks like a device name", (name) => {
    expect(() => parseConfig(good.replace("name: app", `name: ${name}`), "/t.yml", {})).not.toThrow();
  });

  it("reports bad YAML as YAML", () => {
    expect(problems("databases: [")[0]).toMatch(/not valid YAML|Flow sequence/);
  });
});

describe("two destinations in the same place under different spellings", () => {
  const two = (a: string, b: string) => `databases: [{ name: app, path: ./app.db }]\ndestinations:\n  - ${a}\n  - ${b}\n`;
  const local = (name: string, p: string) => `{ name: ${name}, type: local, path: ${JSON.stringify(p)} }`;

  it.each([
    ["a trailing slash", "./backups", "./backups/"],
    ["a dot segment", "./backups", "./x/../backups"],
    ["a relative and an absolute path", "./backups", "/etc/triplicate/backups"],
  ])("refuses %s (folders that do not exist yet)", (_what, a, b) => {
    expect(problems(two(local("a", a), local("b", b))).join("\n")).toMatch(/destinations\[1\] \(in destinations "b"\): points at the same place as destination "a" \(\/etc\/triplicate\/backups\)/);
  });

  it("refuses a symlink to another destination's folder, and one below a symlinked parent", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tri-cfg-"));
    try {
      await mkdir(path.join(dir, "real", "sub"), { recursive: true });
      await symlink(path.join(dir, "real"), path.join(dir, "link"));
      const file = path.join(dir, "t.yml");
      const link = problems2(two(local("a", "./real"), local("b", "./link")), file);
      expect(link.join("\n")).toMatch(/destinations\[1\] \(in destinations "b"\): points at the same place as destination "a"/);
      // "./link/later" does not exist yet: its existing parent is resolved.
      const below = problems2(two(local("a", "./real/later"), local("b", "./link/later/")), file);
      expect(below.join("\n")).toMatch(/points at the same place as destination "a"/);
      expect(() => parseConfig(two(local("a", "./real"), local("b", "./real/sub")), file, {})).not.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses the same SFTP folder spelt differently, and the same bucket prefix", () => {
    const key = '"SHA256:' + "A".repeat(43) + '"';
    const sftp = (name: string, host: string, p: string) => `{ name: ${name}, type: sftp, host: ${host}, username: b, password: x, hostKeySha256: ${key}, path: ${JSON.stringify(p)} }`;
    expect(problems(two(sftp("a", "nas.lan", "/volume1/b"), sftp("b", "NAS.lan", "/volume1//b/"))).join("\n")).toMatch(/"b"\): points at the same place as destination "a"/);
    expect(problems(two(sftp("a", "nas.lan", "~/b"), sftp("b", "nas.lan", "b/"))).join("\n")).toMatch(/points at the same place/);
    const s3 = (name: string, endpoint: string, prefix: string) => `{ name: ${name}, type: s3, bucket: bk, endpoint: ${endpoint}, prefix: ${JSON.stringify(prefix)} }`;
    expect(problems(two(s3("a", "https://s3.example.com", "x/y"), s3("b", "https://S3.example.com:443/", "x/y/"))).join("\n")).toMatch(/points at the same place/);
    expect(() => parseConfig(two(s3("a", "https://s3.example.com", "x/"), s3("b", "https://s3.example.com", "y/")), "/t.yml", {})).not.toThrow();
  });
});

function problems2(yaml: string, file: string): string[] {
  try {
    parseConfig(yaml, file, {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("durations", () => {
  it("parses sums of units", () => {
    expect(parseDuration("1y6mo")).toMatchObject({ years: 1, months: 6, ms: 0 });
    expect(parseDuration("26h").ms).toBe(26 * 3_600_000);
    expect(parseDuration("1d12h").ms).toBe(36 * 3_600_000);
    expect(() => parseDuration("soon")).toThrow(/not a duration/);
  });
});
