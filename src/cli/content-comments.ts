import { asc } from "drizzle-orm";
import { existsSync } from "node:fs";
import { openDatabase } from "../db/database.js";
import { comments } from "../db/schema.js";
import { loadConfig } from "../config.js";

/** Prints every reviewer comment as CSV (RFC 4180) on standard output. */
function main(): void {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig();
  if (!existsSync(config.DATABASE_FILE)) {
    console.error(`no database at ${config.DATABASE_FILE}: start the service once, or set DATABASE_FILE`);
    process.exitCode = 1;
    return;
  }
  const database = openDatabase(config.DATABASE_FILE);
  try {
    const rows = database.db.select().from(comments).orderBy(asc(comments.id)).all();
    const header = ["created_at", "course_version", "language", "step_id", "channel", "comment"];
    const lines = [header.join(",")];
    for (const row of rows) {
      lines.push(
        [new Date(row.createdAt).toISOString(), row.courseVersion, row.language, row.stepId, row.channel, row.text]
          .map(csvField)
          .join(","),
      );
    }
    process.stdout.write(`${lines.join("\r\n")}\r\n`);
  } finally {
    database.close();
  }
}

/** Quotes a CSV field when it contains a comma, a quote or a line break. */
export function csvField(value: string): string {
  // A leading =, +, - or @ would run as a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

main();
