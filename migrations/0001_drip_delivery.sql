ALTER TABLE `enrollments` ADD `pace` text;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `hour` integer;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `time_zone` text;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `paused` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `stopped` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `dormant` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `next_release_at` integer;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `reminders_sent` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `idle_since` integer;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `last_channel` text;--> statement-breakpoint
ALTER TABLE `enrollments` ADD `last_address` text;--> statement-breakpoint
CREATE INDEX `enrollments_release` ON `enrollments` (`phase`,`next_release_at`);--> statement-breakpoint
CREATE INDEX `enrollments_idle` ON `enrollments` (`stage`,`idle_since`);