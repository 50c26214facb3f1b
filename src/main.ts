import { existsSync } from "node:fs";
import { ContentError, createApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";

/** Starts the service with the settings from the environment and from .env when present. */
async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig();
  const app = await createApp(config);
  const address = await app.listen();
  app.logger.info({ address, course: app.course.id, version: app.course.version, telegram: app.telegram !== null, whatsapp: app.whatsapp !== null }, "waypoints started");
  if (config.WEB_CHAT_ENABLED) app.logger.info(`browser chat: ${address.replace("0.0.0.0", "127.0.0.1")}/`);

  // An unawaited rejection, such as one from whatsapp-web.js's page listeners,
  // would stop Node 20. Logging it keeps the other channels running.
  process.on("unhandledRejection", (reason: unknown) => {
    app.logger.error({ error: (reason as Error)?.message ?? String(reason) }, "unhandled rejection");
  });

  const shutdown = (signal: string) => {
    app.logger.info({ signal }, "stopping");
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof ContentError) {
    console.error(`waypoints cannot start: ${error.message}`);
  } else {
    console.error("waypoints cannot start:", error);
  }
  process.exit(1);
});
