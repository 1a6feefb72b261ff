// Every word the dashboard shows, in zh-CN and English. Printer states come from
// shared/printer-state.ts (one wording for the dashboard, the store page and the tray app).
// The language follows the browser until the person picks one (kept in localStorage).
import { CONDITION_TEXT, type Lang, type PrinterCondition } from '../../../shared/printer-state.js';

const zh = {
  'app.title': 'printrelay 总部',
  'nav.overview': '总览',
  'nav.trace': '查单',
  'nav.admin': '管理',
  'nav.signOut': '退出登录',
  'lang.switch': 'English',
  'login.title': '登录 printrelay 总部',
  'login.name': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.wrong': '用户名或密码错误',
  'login.slow': '密码错误次数过多，请 {s} 秒后再试',
  'live.on': '实时',
  'live.off': '实时连接中断，正在重连…',
  'totals.storesOnline': '门店在线',
  'totals.storesOffline': '门店离线',
  'totals.printersReady': '打印机正常',
  'totals.printersWarning': '打印机提醒',
  'totals.printersError': '打印机故障',
  'totals.printersUnknown': '状态未知',
  'totals.jobsWaiting': '待打印',
  'totals.jobsHeld': '已暂留',
  'totals.jobsFailed': '失败（24小时）',
  'totals.jobsUncertain': '不确定（24小时）',
  'fleet.search': '搜索门店编号或名称',
  'fleet.problems': '只看有问题的',
  'fleet.store': '门店',
  'fleet.printers': '打印机',
  'fleet.jobs': '任务',
  'fleet.lastSeen': '最后在线',
  'fleet.none': '没有符合条件的门店',
  'fleet.page': '第 {from}–{to} 家，共 {total} 家',
  'fleet.prev': '上一页',
  'fleet.next': '下一页',
  'fleet.waiting': '待打印 {n}',
  'fleet.held': '暂留 {n}',
  'store.online': '在线',
  'store.offline': '离线',
  'store.noPrinters': '还没有打印机上报',
  'store.agent': '门店客户端',
  'store.version': '版本',
  'store.lastSeen': '最后联系',
  'store.link': '与总部的连接',
  'store.linkUp': '已连接',
  'store.linkDown': '已断开',
  'store.uptime': '已运行',
  'store.back': '← 返回总览',
  'store.history': '状态变化',
  'store.queue': '队列',
  'store.queueEmpty': '队列为空',
  'store.paper': '已用纸',
  'store.printed': '已打印',
  'store.recent': '最近的任务',
  'store.testPrint': '测试打印',
  'store.noHistory': '暂无记录',
  'job.order': '订单',
  'job.state': '状态',
  'job.created': '创建时间',
  'job.printer': '打印机',
  'job.reprint': '补打',
  'job.cancel': '取消',
  'job.print': '打印',
  'job.discard': '丢弃',
  'job.trace': '轨迹',
  'job.reprintOf': '补打第 {n} 次',
  'job.picture': '打印出的小票',
  'job.noPicture': '以原始字节发送，没有小票图片',
  'trace.title': '按订单号查找',
  'trace.orderNo': '订单号',
  'trace.source': '来源（可选）',
  'trace.find': '查找',
  'trace.none': '没有找到这个订单的任务',
  'trace.tickets': '这个订单的 {n} 张小票',
  'admin.stores': '新建门店',
  'admin.storeId': '门店编号',
  'admin.storeName': '门店名称',
  'admin.create': '创建',
  'admin.shownOnce': '只显示这一次，请现在记下：',
  'admin.password': '密码',
  'admin.enrolment': '开通码',
  'admin.keys': 'API 密钥',
  'admin.keyName': '用途',
  'admin.scope': '门店范围（all 或用逗号分隔的编号）',
  'admin.revoke': '作废',
  'admin.revoked': '已作废',
  'admin.webhooks': 'Webhook',
  'admin.url': 'URL',
  'admin.remove': '删除',
  'admin.users': '用户',
  'admin.userName': '用户名',
  'admin.role': '角色',
  'admin.audit': '操作记录',
  'admin.when': '时间',
  'admin.who': '谁',
  'admin.what': '做了什么',
  'role.admin': '管理员',
  'role.operator': '操作员',
  'role.viewer': '只读',
  'state.accepted': '已接收',
  'state.sent': '已下发',
  'state.delivered': '门店已收到',
  'state.held': '暂留待定',
  'state.printing': '打印中',
  'state.printed': '已打印',
  'state.failed': '失败',
  'state.expired': '已过期',
  'state.cancelled': '已取消',
  'state.uncertain': '不确定',
  'error.generic': '出错了：{m}',
  'done.ok': '已完成',
  'time.never': '从未',
};

type Key = keyof typeof zh;

const en: Record<Key, string> = {
  'app.title': 'printrelay HQ',
  'nav.overview': 'Overview',
  'nav.trace': 'Find order',
  'nav.admin': 'Admin',
  'nav.signOut': 'Sign out',
  'lang.switch': '中文',
  'login.title': 'Sign in to printrelay HQ',
  'login.name': 'User name',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.wrong': 'Wrong user name or password',
  'login.slow': 'Too many wrong passwords: try again in {s} s',
  'live.on': 'Live',
  'live.off': 'Live feed lost, reconnecting…',
  'totals.storesOnline': 'Stores online',
  'totals.storesOffline': 'Stores offline',
  'totals.printersReady': 'Printers ready',
  'totals.printersWarning': 'Printers warning',
  'totals.printersError': 'Printers in error',
  'totals.printersUnknown': 'Status unknown',
  'totals.jobsWaiting': 'Jobs waiting',
  'totals.jobsHeld': 'Jobs held',
  'totals.jobsFailed': 'Failed (24 h)',
  'totals.jobsUncertain': 'Uncertain (24 h)',
  'fleet.search': 'Search store id or name',
  'fleet.problems': 'Problems only',
  'fleet.store': 'Store',
  'fleet.printers': 'Printers',
  'fleet.jobs': 'Jobs',
  'fleet.lastSeen': 'Last seen',
  'fleet.none': 'No store matches',
  'fleet.page': '{from}–{to} of {total} stores',
  'fleet.prev': 'Previous',
  'fleet.next': 'Next',
  'fleet.waiting': '{n} waiting',
  'fleet.held': '{n} held',
  'store.online': 'Online',
  'store.offline': 'Offline',
  'store.noPrinters': 'No printer has reported yet',
  'store.agent': 'Store agent',
  'store.version': 'Version',
  'store.lastSeen': 'Last seen',
  'store.link': 'Link to HQ',
  'store.linkUp': 'connected',
  'store.linkDown': 'disconnected',
  'store.uptime': 'Up for',
  'store.back': '← Back to overview',
  'store.history': 'Status changes',
  'store.queue': 'Queue',
  'store.queueEmpty': 'Queue empty',
  'store.paper': 'Paper used',
  'store.printed': 'Printed',
  'store.recent': 'Recent jobs',
  'store.testPrint': 'Test print',
  'store.noHistory': 'Nothing yet',
  'job.order': 'Order',
  'job.state': 'State',
  'job.created': 'Created',
  'job.printer': 'Printer',
  'job.reprint': 'Reprint',
  'job.cancel': 'Cancel',
  'job.print': 'Print',
  'job.discard': 'Discard',
  'job.trace': 'Trace',
  'job.reprintOf': 'Reprint #{n}',
  'job.picture': 'The ticket as printed',
  'job.noPicture': 'Sent as raw bytes: no ticket picture',
  'trace.title': 'Find an order',
  'trace.orderNo': 'Order number',
  'trace.source': 'Source (optional)',
  'trace.find': 'Find',
  'trace.none': 'No job for this order',
  'trace.tickets': '{n} ticket(s) for this order',
  'admin.stores': 'New store',
  'admin.storeId': 'Store id',
  'admin.storeName': 'Store name',
  'admin.create': 'Create',
  'admin.shownOnce': 'Shown this once only; write it down now:',
  'admin.password': 'Password',
  'admin.enrolment': 'Enrolment code',
  'admin.keys': 'API keys',
  'admin.keyName': 'Used by',
  'admin.scope': 'Stores ("all" or comma-separated ids)',
  'admin.revoke': 'Revoke',
  'admin.revoked': 'revoked',
  'admin.webhooks': 'Webhooks',
  'admin.url': 'URL',
  'admin.remove': 'Remove',
  'admin.users': 'Users',
  'admin.userName': 'User name',
  'admin.role': 'Role',
  'admin.audit': 'Audit log',
  'admin.when': 'When',
  'admin.who': 'Who',
  'admin.what': 'What',
  'role.admin': 'Admin',
  'role.operator': 'Operator',
  'role.viewer': 'Viewer',
  'state.accepted': 'Accepted',
  'state.sent': 'Sent',
  'state.delivered': 'At the store',
  'state.held': 'Held',
  'state.printing': 'Printing',
  'state.printed': 'Printed',
  'state.failed': 'Failed',
  'state.expired': 'Expired',
  'state.cancelled': 'Cancelled',
  'state.uncertain': 'Uncertain',
  'error.generic': 'Something went wrong: {m}',
  'done.ok': 'Done',
  'time.never': 'never',
};

const CATALOGUE: Record<Lang, Record<Key, string>> = { 'zh-CN': zh, en };

function initialLang(): Lang {
  const saved = localStorage.getItem('printrelay.lang');
  if (saved === 'zh-CN' || saved === 'en') return saved;
  for (const l of navigator.languages ?? [navigator.language]) {
    if (l.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

export let lang: Lang = initialLang();

export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem('printrelay.lang', l);
  document.documentElement.lang = l;
}

export function t(key: Key, params: Record<string, string | number> = {}): string {
  return CATALOGUE[lang][key].replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? ''));
}

/** 缺纸 / Paper out, from the shared wording. */
export function conditionLabel(c: PrinterCondition): string {
  return CONDITION_TEXT[lang][c].label;
}

export function conditionAction(c: PrinterCondition): string {
  return CONDITION_TEXT[lang][c].action;
}

export function stateLabel(state: string): string {
  const key = `state.${state}` as Key;
  return key in zh ? t(key) : state;
}

export function formatTime(ms: number | string | null): string {
  if (ms === null) return t('time.never');
  return new Date(ms).toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-GB', { hour12: false });
}
