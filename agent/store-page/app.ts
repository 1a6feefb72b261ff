// The cashier's store page (served by the agent at /): each printer's state in plain words
// with what to do, the tickets that need a decision, test print, reprint the last ticket,
// pause/resume, and whether the cloud is connected. Polls the local API every two seconds
// while the page is visible; all words come from messages.ts and shared/printer-state.ts.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  CONDITION_TEXT,
  LANGS,
  type Lang,
  printerCondition,
  SEVERITY_RANK,
  severity,
} from '../../shared/printer-state.js';
import { localApiClient } from '../local-api-client.js';
import type { AgentPrinterView, AgentView, LocalJobView } from '../views.js';
import { MESSAGES, type StorePageMessages } from './messages.js';

const api = localApiClient('');
const POLL_MS = 2000;
const LANG_KEY = 'printrelay.lang';
const NOTICE_MS = 8000;

function initialLang(): Lang {
  const asked = new URLSearchParams(location.search).get('lang') ?? localStorage.getItem(LANG_KEY);
  return LANGS.find((l) => l === asked) ?? 'zh-CN';
}

/** "10:32" today, else "12月3日 10:32" / "Dec 3, 10:32". */
function when(iso: string, lang: Lang): string {
  const d = new Date(iso);
  const time = d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit', hour12: false });
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.toLocaleDateString(lang, { month: 'short', day: 'numeric' })} ${time}`;
}

const printerName = (p: AgentPrinterView | undefined, id: string | null) => p?.name ?? id ?? '?';

interface Snapshot {
  view: AgentView;
  attention: LocalJobView[];
}

function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const [snap, setSnap] = useState<Snapshot | null>(null);
  const [unreachable, setUnreachable] = useState(false);
  const [notice, setNotice] = useState<{ text: string; ok: boolean } | null>(null);
  const m = MESSAGES[lang];

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  const refresh = useCallback(async () => {
    try {
      const [view, attention] = await Promise.all([api.status(), api.attention()]);
      setSnap({ view, attention });
      setUnreachable(false);
    } catch {
      setUnreachable(true);
    }
  }, []);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = m.title;
  }, [lang, m]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  /** Runs an action, says how it went, and shows its effect at once. */
  const act = (action: () => Promise<unknown>, done: string) => async () => {
    try {
      await action();
      setNotice({ text: done, ok: true });
    } catch (err) {
      setNotice({ text: m.failed((err as Error).message), ok: false });
    }
    await refresh();
  };

  const switchLang = () => {
    const next = lang === 'zh-CN' ? 'en' : 'zh-CN';
    localStorage.setItem(LANG_KEY, next);
    setNotice(null);
    setLang(next);
  };

  return html`
    <header>
      <h1>${m.title}</h1>
      <button class="lang" onClick=${switchLang}>${m.otherLanguage}</button>
    </header>
    ${unreachable && html`<p class="banner error" role="alert">${m.agentUnreachable}</p>`}
    ${
      notice &&
      html`<p class=${`notice ${notice.ok ? 'ok' : 'error'}`} role="status" onClick=${() => setNotice(null)}>
      ${notice.text}
    </p>`
    }
    ${snap ? html`<${Store} snap=${snap} m=${m} lang=${lang} act=${act} />` : html`<p>${m.loading}</p>`}
  `;
}

type Act = (action: () => Promise<unknown>, done: string) => () => Promise<void>;

function Store({ snap, m, lang, act }: { snap: Snapshot; m: StorePageMessages; lang: Lang; act: Act }) {
  const { view, attention } = snap;
  const byId = new Map(view.printers.map((p) => [p.id, p]));
  const printers = [...view.printers].sort(
    (a, b) =>
      SEVERITY_RANK[severity(printerCondition(a.status))] -
      SEVERITY_RANK[severity(printerCondition(b.status))],
  );
  const last = view.lastTicket;
  const lastWhat = last?.orderRef
    ? m.order(last.orderRef.source, last.orderRef.orderNo)
    : printerName(byId.get(last?.printerId ?? ''), last?.printerId ?? null);
  return html`
    <p class=${`cloud ${view.relay.connected ? 'ok' : 'error'}`} data-testid="cloud">
      <strong>${view.relay.connected ? m.cloudConnected(when(view.relay.since, lang)) : m.cloudOffline(when(view.relay.since, lang))}</strong>
      ${!view.relay.connected && html`<span>${m.cloudOfflineHelp}</span>`}
    </p>
    ${
      view.printingPaused &&
      html`<div class="banner warning" data-testid="paused">
      <strong>${m.paused}</strong><span>${m.pausedHelp}</span>
      <button class="primary" onClick=${act(() => api.setPrintingPaused(false), m.resume)}>${m.resume}</button>
    </div>`
    }
    <section aria-label=${m.printers}>
      ${printers.map((p) => html`<${PrinterCard} key=${p.id} p=${p} m=${m} lang=${lang} act=${act} />`)}
    </section>
    <section class="attention" data-testid="attention">
      <h2>${m.needsYou}</h2>
      ${attention.length === 0 && html`<p class="quiet">${m.nothingNeedsYou}</p>`}
      ${attention.map((j) => html`<${JobRow} key=${j.jobId} j=${j} byId=${byId} m=${m} lang=${lang} act=${act} />`)}
    </section>
    <section class="actions">
      <div>
        <button data-testid="reprint-last" disabled=${!last} onClick=${act(() => api.reprintLast(), m.reprintSent)}>
          ${m.reprintLast}
        </button>
        <small>${last ? m.reprintLastOf(lastWhat, when(last.updatedAt, lang)) : m.reprintNothing}</small>
      </div>
      ${
        !view.printingPaused &&
        html`<button data-testid="pause" onClick=${act(() => api.setPrintingPaused(true), m.paused)}>${m.pause}</button>`
      }
    </section>
  `;
}

function PrinterCard({
  p,
  m,
  lang,
  act,
}: {
  p: AgentPrinterView;
  m: StorePageMessages;
  lang: Lang;
  act: Act;
}) {
  const condition = printerCondition(p.status);
  const text = CONDITION_TEXT[lang][condition];
  const name = printerName(p, p.id);
  return html`
    <article class=${`printer ${severity(condition)}`} data-testid=${`printer-${p.id}`}>
      <div class="head">
        <h2>${name}</h2>
        <span class="badge">${text.label}</span>
      </div>
      <p class="action">${text.action}</p>
      <div class="foot">
        <span>${p.queueDepth > 0 ? m.queued(p.queueDepth) : ''}</span>
        <button onClick=${act(() => api.testPrint(p.id), m.testPrintSent(name))}>${m.testPrint}</button>
      </div>
    </article>
  `;
}

function JobRow(props: {
  j: LocalJobView;
  byId: Map<string, AgentPrinterView>;
  m: StorePageMessages;
  lang: Lang;
  act: Act;
}) {
  const { j, byId, m, lang, act } = props;
  const state = j.state as keyof StorePageMessages['jobState'];
  const what = j.orderRef ? m.order(j.orderRef.source, j.orderRef.orderNo) : m.testOrReprint;
  return html`
    <article class=${`job ${state}`} data-testid=${`job-${j.jobId}`}>
      <div>
        <strong>${what}</strong>
        <span class="state">${m.jobState[state]}</span>
        <small>${m.onPrinter(printerName(byId.get(j.printerId ?? ''), j.printerId ?? j.printerRef))} · ${when(j.createdAt, lang)}</small>
      </div>
      <div class="buttons">
        <button class="primary" onClick=${act(() => api.decide(j.jobId, 'print'), m.printing)}>
          ${state === 'held' ? m.print : m.printAgain}
        </button>
        <button onClick=${act(() => api.decide(j.jobId, 'discard'), m.discarded)}>${m.discard}</button>
      </div>
    </article>
  `;
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement);
