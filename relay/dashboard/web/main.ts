// Entry point of the dashboard bundle (scripts/bundle.js builds it into dist/hq/app.js).
import './app.css';
import { html, render } from 'htm/preact';
import { App } from './app.js';

render(html`<${App} />`, document.getElementById('app') as HTMLElement);
