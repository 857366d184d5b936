-- Rate limits become sliding: "at most N in W seconds" now holds over every W-second stretch,
-- not only within fixed windows (two windows back to back allowed 2N across their boundary).
-- Each key keeps the times of the events it counted that are still inside its window (at most the
-- limit's number, as only accepted events are kept). window_start becomes the oldest of them and
-- count the ordinal of the key's latest attempt, so a process still on the fixed-window code during
-- a rolling upgrade reads a window no shorter than the real one.
ALTER TABLE rate_limits ADD COLUMN times timestamptz[] NOT NULL DEFAULT '{}';

-- Counts in flight carry over: their events are taken to have happened when their window opened.
UPDATE rate_limits SET times = array_fill(window_start, ARRAY[LEAST(count, 100)]) WHERE count > 0;
