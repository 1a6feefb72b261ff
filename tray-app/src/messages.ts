// Every word of the tray app that is not a printer state (those come from
// shared/printer-state.ts), in Chinese first and English.
import type { Lang } from '../../shared/printer-state.js';

export interface TrayMessages {
  appName: string;
  /** "2 台打印机正常" */
  printersReady: (n: number) => string;
  /** "厨房打印机缺纸" */
  printerIs: (printer: string, label: string) => string;
  /** A printer in the menu: "厨房打印机：缺纸：请装纸…" */
  printerLine: (printer: string, text: string) => string;
  noPrinters: string;
  agentUnreachable: string;
  agentUnreachableHelp: string;
  cloudOffline: string;
  cloudOfflineHelp: string;
  cloudBack: string;
  paused: string;
  printerBack: (printer: string) => string;
  printerBackBody: string;
  testPrint: string;
  reprintLast: string;
  openPage: string;
  pause: string;
  resume: string;
  language: string;
  quit: string;
}

export const TRAY_MESSAGES: Record<Lang, TrayMessages> = {
  'zh-CN': {
    appName: '门店打印',
    printersReady: (n) => `${n} 台打印机正常`,
    printerIs: (printer, label) => `${printer}${label}`,
    printerLine: (printer, text) => `${printer}：${text}`,
    noPrinters: '没有打印机',
    agentUnreachable: '打印服务没有运行',
    agentUnreachableHelp: '新订单无法打印：请重启电脑；仍不行请联系维修',
    cloudOffline: '云端未连接',
    cloudOfflineHelp: '新订单暂时收不到；网络恢复后会自动补上',
    cloudBack: '云端已重新连接',
    paused: '打印已暂停',
    printerBack: (printer) => `${printer}恢复正常`,
    printerBackBody: '可以继续打印了',
    testPrint: '打印测试页',
    reprintLast: '补打上一张小票',
    openPage: '打开门店页面',
    pause: '暂停打印',
    resume: '继续打印',
    language: '语言 Language',
    quit: '退出',
  },
  en: {
    appName: 'Store printing',
    printersReady: (n) => `${n} ${n === 1 ? 'printer' : 'printers'} ready`,
    printerIs: (printer, label) => `${printer}: ${label}`,
    printerLine: (printer, text) => `${printer}: ${text}`,
    noPrinters: 'No printers',
    agentUnreachable: 'The printing service is not running',
    agentUnreachableHelp: 'New orders cannot print: restart the PC; if that does not help, call support',
    cloudOffline: 'Cloud offline',
    cloudOfflineHelp: 'New orders cannot arrive now; they come in when the internet is back',
    cloudBack: 'Cloud connected again',
    paused: 'Printing paused',
    printerBack: (printer) => `${printer} is ready again`,
    printerBackBody: 'Printing can go on',
    testPrint: 'Test print',
    reprintLast: 'Reprint last ticket',
    openPage: 'Open the store page',
    pause: 'Pause printing',
    resume: 'Resume printing',
    language: 'Language 语言',
    quit: 'Quit',
  },
};

/** Each language by its own name, for the language menu. */
export const LANGUAGE_NAMES: Record<Lang, string> = { 'zh-CN': '中文', en: 'English' };
