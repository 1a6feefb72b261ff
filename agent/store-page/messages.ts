// Every word of the store page that is not a printer state (those come from
// shared/printer-state.ts), in Chinese first and English. Short, plain words for a cashier.
import type { Lang } from '../../shared/printer-state.js';

export interface StorePageMessages {
  title: string;
  otherLanguage: string;
  cloudConnected: (since: string) => string;
  cloudOffline: (since: string) => string;
  cloudOfflineHelp: string;
  agentUnreachable: string;
  loading: string;
  paused: string;
  pausedHelp: string;
  pause: string;
  resume: string;
  printers: string;
  queued: (n: number) => string;
  testPrint: string;
  testPrintSent: (printer: string) => string;
  reprintLast: string;
  reprintLastOf: (what: string, at: string) => string;
  reprintNothing: string;
  reprintSent: string;
  needsYou: string;
  nothingNeedsYou: string;
  jobState: Record<'held' | 'failed' | 'uncertain', string>;
  order: (source: string, no: string) => string;
  testOrReprint: string;
  onPrinter: (printer: string) => string;
  print: string;
  printAgain: string;
  discard: string;
  printing: string;
  discarded: string;
  failed: (why: string) => string;
}

export const MESSAGES: Record<Lang, StorePageMessages> = {
  'zh-CN': {
    title: '门店打印',
    otherLanguage: 'English',
    cloudConnected: (since) => `云端已连接（${since} 起）`,
    cloudOffline: (since) => `云端未连接（${since} 起）`,
    cloudOfflineHelp: '新订单暂时收不到；网络恢复后会自动补上',
    agentUnreachable: '连接不到本机打印服务：请检查打印服务是否在运行，或重启电脑',
    loading: '正在读取…',
    paused: '打印已暂停',
    pausedHelp: '新订单在排队，继续打印后会依次打出',
    pause: '暂停打印',
    resume: '继续打印',
    printers: '打印机',
    queued: (n) => `${n} 张待打印`,
    testPrint: '打印测试页',
    testPrintSent: (printer) => `测试页已发送到${printer}`,
    reprintLast: '补打上一张小票',
    reprintLastOf: (what, at) => `${what}，${at} 打印`,
    reprintNothing: '还没有打印过订单小票',
    reprintSent: '已补打，小票上印有“重印”字样',
    needsYou: '需要您处理的小票',
    nothingNeedsYou: '没有需要处理的小票',
    jobState: {
      held: '已超时，等待您决定是否打印',
      failed: '没有打印出来',
      uncertain: '不确定是否已打印，请查看打印机',
    },
    order: (source, no) => `${source} 订单 ${no}`,
    testOrReprint: '测试页 / 补打',
    onPrinter: (printer) => `打印机：${printer}`,
    print: '打印',
    printAgain: '重新打印',
    discard: '不打了',
    printing: '已发送打印',
    discarded: '已从列表中移除',
    failed: (why) => `没有成功：${why}`,
  },
  en: {
    title: 'Store printing',
    otherLanguage: '中文',
    cloudConnected: (since) => `Cloud connected (since ${since})`,
    cloudOffline: (since) => `Cloud offline (since ${since})`,
    cloudOfflineHelp: 'New orders cannot arrive now; they come in when the internet is back',
    agentUnreachable:
      'Cannot reach the printing service on this PC: check that it is running, or restart the PC',
    loading: 'Loading…',
    paused: 'Printing is paused',
    pausedHelp: 'New orders wait in line and print in order when you resume',
    pause: 'Pause printing',
    resume: 'Resume printing',
    printers: 'Printers',
    queued: (n) => `${n} to print`,
    testPrint: 'Test print',
    testPrintSent: (printer) => `Test page sent to ${printer}`,
    reprintLast: 'Reprint last ticket',
    reprintLastOf: (what, at) => `${what}, printed ${at}`,
    reprintNothing: 'No order ticket printed yet',
    reprintSent: 'Reprinted; the ticket is marked REPRINT',
    needsYou: 'Tickets that need you',
    nothingNeedsYou: 'Nothing needs you',
    jobState: {
      held: 'Too late: print it anyway?',
      failed: 'Did not print',
      uncertain: 'May or may not have printed: check the printer',
    },
    order: (source, no) => `${source} order ${no}`,
    testOrReprint: 'Test page / reprint',
    onPrinter: (printer) => `Printer: ${printer}`,
    print: 'Print',
    printAgain: 'Print again',
    discard: 'Discard',
    printing: 'Sent to print',
    discarded: 'Removed from the list',
    failed: (why) => `Did not work: ${why}`,
  },
};
