// The dashboard's shell: which view the address shows, the header (navigation, live state,
// language switch, sign-out), and the signed-in user for the views to ask about roles.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get, post } from './api.js';
import { lang, setLang, t } from './i18n.js';
import { onLiveState } from './live.js';
import { AdminView } from './views/admin.js';
import { LoginView } from './views/login.js';
import { OverviewView } from './views/overview.js';
import { StoreView } from './views/store.js';
import { TemplatesView } from './views/templates.js';
import { TraceView } from './views/trace.js';

export interface Me {
  name: string;
  role: 'admin' | 'operator' | 'viewer';
  stores: 'all' | string[];
}

const LOADING_USER: Me = { name: '', role: 'viewer', stores: [] };

/** Moves to another view without reloading the page. */
export function navigate(href: string): void {
  history.pushState(null, '', href);
  dispatchEvent(new PopStateEvent('popstate'));
}

/** An <a> that navigates inside the page. */
export function Link(props: { href: string; children?: unknown; class?: string }) {
  const click = (e: MouseEvent) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(props.href);
  };
  return html`<a href=${props.href} class=${props.class} onClick=${click}>${props.children}</a>`;
}

function useLocation(): URL {
  const [url, setUrl] = useState(() => new URL(location.href));
  useEffect(() => {
    const update = () => setUrl(new URL(location.href));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return url;
}

function LiveBadge() {
  const [up, setUp] = useState(true);
  useEffect(() => onLiveState(setUp), []);
  return html`<span class=${`live ${up ? 'up' : 'down'}`} data-testid="live">${up ? t('live.on') : t('live.off')}</span>`;
}

export function App() {
  const url = useLocation();
  const [, setLangState] = useState(lang);
  const [me, setMe] = useState<Me | null>(null);
  const path = url.pathname.replace(/\/+$/, '');
  const onLogin = path === '/hq/login';

  useEffect(() => {
    document.documentElement.lang = lang;
    if (!onLogin) void get<Me>('/hq/api/me').then(setMe);
  }, [onLogin]);

  const switchLang = () => {
    setLang(lang === 'zh-CN' ? 'en' : 'zh-CN');
    setLangState(lang);
  };
  const langButton = html`<button class="lang" onClick=${switchLang} data-testid="lang">${t('lang.switch')}</button>`;

  if (onLogin)
    return html`<div class="login-page">${langButton}<${LoginView} next=${url.searchParams.get('next')} /></div>`;
  // The view loads its data at once, beside who the user is (one round trip, not two); until
  // the answer comes it offers no action.
  if (!me && path === '/hq/admin') return html`<div class="loading"></div>`;
  const user = me ?? LOADING_USER;

  const signOut = async () => {
    await post('/hq/api/logout');
    location.assign('/hq/login');
  };
  const store = /^\/hq\/stores\/([^/]+)$/.exec(path);
  let view: unknown;
  if (store) view = html`<${StoreView} id=${decodeURIComponent(store[1] as string)} me=${user} />`;
  else if (path === '/hq/trace') view = html`<${TraceView} me=${user} url=${url} />`;
  else if (path === '/hq/templates') view = html`<${TemplatesView} me=${user} url=${url} />`;
  else if (path === '/hq/admin' && user.role === 'admin') view = html`<${AdminView} me=${user} />`;
  else view = html`<${OverviewView} me=${user} url=${url} />`;
  const tab = (href: string, label: string, active: boolean) =>
    html`<${Link} href=${href} class=${active ? 'active' : ''}>${label}<//>`;

  return html`
    <header>
      <strong class="brand">${t('app.title')}</strong>
      <nav>
        ${tab('/hq/', t('nav.overview'), path === '/hq' || !!store)}
        ${tab('/hq/trace', t('nav.trace'), path === '/hq/trace')}
        ${tab('/hq/templates', t('nav.templates'), path === '/hq/templates')}
        ${user.role === 'admin' ? tab('/hq/admin', t('nav.admin'), path === '/hq/admin') : null}
      </nav>
      <span class="spacer"></span>
      <${LiveBadge} />
      ${langButton}
      <span class="who">${me ? `${me.name} · ${t(`role.${me.role}`)}` : ''}</span>
      <button onClick=${signOut} data-testid="sign-out">${t('nav.signOut')}</button>
    </header>
    <main>${view}</main>`;
}
