import { defineConfig } from "@playwright/test";
import * as os from "os";
import * as path from "path";
import * as fs from "fs";

// The server under test is the debug binary `cargo test` has just built: one build per run.
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(process.env.CARGO_TARGET_DIR)
  : path.resolve(__dirname, "..", "target");
const binary = path.join(targetDir, "debug", "talapker");
const port = Number(process.env.TALAPKER_E2E_PORT || 18080);
// The config is evaluated again in every worker: they inherit the runner's data directory
// through the environment (the specs read the demo ЭЦП keys from it).
const dataDir =
  process.env.TALAPKER_E2E_DATA_DIR ||
  (process.env.TALAPKER_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "talapker-e2e-")));

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://localhost:${port}`,
    locale: "ru-RU",
    timezoneId: "Asia/Almaty",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    { name: "tablet", use: { viewport: { width: 820, height: 1180 }, hasTouch: true } },
    {
      name: "desktop",
      use: { viewport: { width: 1280, height: 800 } },
      testMatch: /01-sign-in\.spec\.ts/,
    },
  ],
  webServer: {
    command: `"${binary}" --db mem:// --listen 127.0.0.1:${port} --data-dir "${dataDir}" --log warn --rp-origin http://localhost:${port} --ais-delay-ms 2000`,
    url: `http://localhost:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "ignore",
    stderr: "pipe",
  },
});
