/**
 * A report says when part of its window was pruned. Retention drops whole monthly
 * partitions, so the fleet keeps the end of the newest partition it dropped.
 */

export const sql = `
  ALTER TABLE fleet_prune ADD COLUMN pruned_before timestamptz;
`;
