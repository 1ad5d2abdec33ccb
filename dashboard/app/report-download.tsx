/**
 * The VM's incident report in each format, downloaded with the session's token (a plain
 * link could not carry it): fetched, then handed to the browser as a file.
 */

import { useState } from 'preact/hooks';
import { authHeaders } from './api.js';

const FORMATS = [
  ['html', 'HTML'],
  ['md', 'Markdown'],
  ['json', 'JSON'],
  ['csv', 'CSV'],
] as const;

export function ReportDownloads(props: { name: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const download = async (format: string) => {
    setBusy(format);
    setProblem(null);
    try {
      const response = await fetch(`/v1/reports/${encodeURIComponent(props.name)}?format=${format}`, {
        headers: authHeaders(),
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
        throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
      }
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `${props.name.replace(/[^A-Za-z0-9._-]/g, '_')}-report.${format}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="h-report">
      <h2 id="h-report">Incident report</h2>
      <p class="controls">
        {FORMATS.map(([format, label]) => (
          <button type="button" disabled={busy !== null} onClick={() => void download(format)}>
            {busy === format ? `${label}…` : label}
          </button>
        ))}
      </p>
      <p class="quiet">
        Verifiable with <code>svirt-audit report verify FILE</code> (the CSV's hash travels in an HTTP trailer the
        browser does not keep: ask the API or the CLI for a CSV to verify).
      </p>
      {problem && (
        <p class="problem" role="alert">
          The report could not be made: {problem}
        </p>
      )}
    </section>
  );
}
