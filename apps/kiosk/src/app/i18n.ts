// The kiosk's words in its four languages, and the number formats of each (Intl). Kept as plain objects: a
// message catalogue library would cost more bytes than these strings.

export const LANGS = ["en", "fr", "ja", "zh"] as const;
export type Lang = (typeof LANGS)[number];

/** BCP 47 locale used for Intl formats. */
export const LOCALE: Record<Lang, string> = { en: "en-US", fr: "fr-FR", ja: "ja-JP", zh: "zh-CN" };
/** The language's own name, as shown on its switch button. */
export const LANG_NAME: Record<Lang, string> = { en: "English", fr: "Français", ja: "日本語", zh: "中文" };
/** Each language's name in Latin letters: the button's label where the screen has no font for the language's own name. */
export const LANG_LATIN_NAME: Record<Lang, string> = { en: "English", fr: "Francais", ja: "Nihongo", zh: "Zhongwen" };

const en = {
  keypadTitle: "Choose on the machine's keypad",
  keypadBody: "Press the number of your product on the machine. Then pay here with any Lightning wallet.",
  selectionN: "Selection {n}",
  vmcVending: "Paid. The machine is vending your product…",
  reasonVmcOff: "The machine is not selling right now.",
  cancelOnKeypad: "You can also cancel on the machine's keypad.",
  vmcCancelled: "Cancelled. Nothing was charged.",
  vmcNotInService: "Put the machine in its own service mode first (open it): the service menu opens while the machine's controller keeps the card reader switched off.",
  openVmcDemo: "Put the machine in service mode (demo)",
  closeVmcDemo: "End the machine's service mode (demo)",
  mdbReader: "Card reader (MDB)",
  mdbBadLines: "Bad lines from the interface",
  mdbUnconfirmed: "Vends without a result (possibly given away)",
  mdbApprovalTimeout: "VMC approval timeout",
  selections: "Selections",
  selection: "Selection",
  enabled: "On sale",
  testVendPress: "Test vend {n}: leave the machine's service mode and press {n} on its keypad…",
  demoPress: "Press {n} (demo)",
  creditBanner: "Credit of {amount}: pick another product",
  creditApplied: "Credit applied: {amount}",
  pickAnother: "Pick another product",
  done: "Done",
  errCreditGone: "This credit was already used or is unknown ({code}). Nothing was charged.",
  errCreditInUse: "This credit is reserved by an order still waiting for its payment. It can be used again once that order ends (a few minutes at most). Nothing was charged.",
  errCreditUnsupported: "This machine cannot spend credits yet: your credit is recorded for the operator. Nothing was charged.",
  doorClosed: "Open the machine's door first: the service menu works only with the door open.",
  openDoorDemo: "Open the door (demo)",
  closeDoorDemo: "Close the door (demo)",
  doorClosedSession: "The door was closed: the service session ended.",
  modeNormal: "in service",
  modeMaintenance: "out of service (maintenance)",
  modeService: "service (door open)",
  setInService: "Put in service",
  setOutOfService: "Take out of service",
  modeSaved: "Mode saved: {mode}",
  connecting: "Connecting to the machine…",
  reconnecting: "Connection lost. Reconnecting…",
  choose: "Choose a product",
  soldOut: "Sold out",
  unavailable: "Unavailable",
  rateAge: "Rate {source}, {age} old",
  noPrice: "No price right now",
  creating: "Preparing your invoice…",
  scanToPay: "Scan with a Lightning wallet",
  expiresIn: "Expires in {time}",
  invoiceExpiring: "This invoice has expired",
  cancel: "Cancel",
  openWallet: "Open in wallet",
  demoPay: "Pay with demo wallet",
  demoPaying: "Paying…",
  paid: "Paid! Preparing your product…",
  pouring: "Pouring {done} of {total} ml",
  turning: "Releasing your product…",
  waitingDrop: "Checking that it dropped…",
  takeProduct: "Take your product",
  thanks: "Thank you!",
  refundedTitle: "Sorry, the product did not come out",
  refundedBody: "Your payment was refunded automatically. Nothing was charged.",
  underpaidTitle: "The payment was less than the price",
  underpaidBody: "Your payment was refunded automatically. Nothing was charged: please pay the full amount shown.",
  creditedTitle: "Sorry, the product did not come out",
  creditedBody: "You have a credit of {amount}: pick another product.",
  expiredTitle: "Invoice expired",
  expiredBody: "Nothing was charged.",
  cancelledTitle: "Order cancelled",
  cancelledBody: "Nothing was charged.",
  withdrawnTitle: "This invoice was withdrawn",
  withdrawnBody: "The machine restarted or stopped selling. Nothing was charged for it: please start again.",
  ok: "OK",
  outOfService: "Out of service",
  reasonDoor: "The door is open.",
  reasonPayments: "Payments are unavailable right now.",
  reasonHardware: "The machine has a hardware fault.",
  reasonService: "A technician is servicing the machine.",
  reasonUnknown: "This machine cannot sell right now.",
  comeBack: "Please come back later. Nothing can be paid on this screen.",
  errSoldOut: "Sorry, this product just sold out.",
  errUnavailable: "The machine cannot sell right now. Nothing was charged.",
  errGeneric: "Something went wrong ({code}). Nothing was charged.",
  service: "Service",
  enterPin: "Technician PIN",
  wrongPin: "Wrong PIN",
  locked: "Too many wrong PINs. Try again later.",
  noPin: "No service PIN is configured on this machine.",
  signIn: "Enter",
  clear: "Clear",
  exit: "Exit",
  status: "Status",
  stock: "Stock",
  harness: "Hardware checks",
  mode: "Mode",
  selling: "Selling",
  yes: "yes",
  no: "no",
  payments: "Payments",
  hardware: "Hardware",
  door: "Door",
  faults: "Faults",
  none: "none",
  version: "Version",
  uptime: "Uptime",
  fill: "Fill",
  save: "Save",
  testVend: "Test vend",
  running: "Running…",
  testOk: "Test vend {slot}: OK",
  testFailed: "Test vend {slot} failed: {code}",
  runChecks: "Run checks",
  pass: "pass",
  fail: "fail",
  skip: "skip",
  saved: "Saved",
  sessionEnded: "The service session ended. Enter the PIN again.",
};
export type MessageKey = keyof typeof en;
type Messages = Record<MessageKey, string>;

const fr: Messages = {
  keypadTitle: "Choisissez sur le clavier du distributeur",
  keypadBody: "Tapez le numéro de votre produit sur le distributeur, puis payez ici avec un portefeuille Lightning.",
  selectionN: "Sélection {n}",
  vmcVending: "Payé. Le distributeur délivre votre produit…",
  reasonVmcOff: "Le distributeur ne vend pas pour le moment.",
  cancelOnKeypad: "Vous pouvez aussi annuler sur le clavier du distributeur.",
  vmcCancelled: "Annulé. Rien n’a été débité.",
  vmcNotInService: "Mettez d’abord le distributeur dans son propre mode maintenance (ouvrez-le) : le menu s’ouvre quand le contrôleur du distributeur désactive le lecteur de paiement.",
  openVmcDemo: "Mettre le distributeur en maintenance (démo)",
  closeVmcDemo: "Quitter la maintenance du distributeur (démo)",
  mdbReader: "Lecteur de paiement (MDB)",
  mdbBadLines: "Lignes invalides de l’interface",
  mdbUnconfirmed: "Ventes sans résultat (produit peut-être donné)",
  mdbApprovalTimeout: "Délai d’approbation du distributeur",
  selections: "Sélections",
  selection: "Sélection",
  enabled: "En vente",
  testVendPress: "Test de distribution {n} : quittez le mode maintenance du distributeur et tapez {n} sur son clavier…",
  demoPress: "Appuyer sur {n} (démo)",
  creditBanner: "Crédit de {amount} : choisissez un autre produit",
  creditApplied: "Crédit appliqué : {amount}",
  pickAnother: "Choisir un autre produit",
  done: "Terminé",
  errCreditGone: "Ce crédit a déjà été utilisé ou est inconnu ({code}). Rien n’a été débité.",
  errCreditInUse: "Ce crédit est réservé par une commande qui attend encore son paiement. Il sera de nouveau utilisable à la fin de cette commande (quelques minutes au plus). Rien n’a été débité.",
  errCreditUnsupported: "Ce distributeur ne sait pas encore utiliser les crédits : le vôtre est enregistré pour l’exploitant. Rien n’a été débité.",
  doorClosed: "Ouvrez d’abord la porte du distributeur : le menu de maintenance ne fonctionne que porte ouverte.",
  openDoorDemo: "Ouvrir la porte (démo)",
  closeDoorDemo: "Fermer la porte (démo)",
  doorClosedSession: "La porte a été fermée : la session de maintenance est terminée.",
  modeNormal: "en service",
  modeMaintenance: "hors service (maintenance)",
  modeService: "maintenance (porte ouverte)",
  setInService: "Mettre en service",
  setOutOfService: "Mettre hors service",
  modeSaved: "Mode enregistré : {mode}",
  connecting: "Connexion au distributeur…",
  reconnecting: "Connexion perdue. Reconnexion…",
  choose: "Choisissez un produit",
  soldOut: "Épuisé",
  unavailable: "Indisponible",
  rateAge: "Taux {source}, il y a {age}",
  noPrice: "Pas de prix pour le moment",
  creating: "Préparation de votre facture…",
  scanToPay: "Scannez avec un portefeuille Lightning",
  expiresIn: "Expire dans {time}",
  invoiceExpiring: "Cette facture a expiré",
  cancel: "Annuler",
  openWallet: "Ouvrir dans le portefeuille",
  demoPay: "Payer avec le portefeuille de démo",
  demoPaying: "Paiement…",
  paid: "Payé ! Préparation de votre produit…",
  pouring: "Versement : {done} sur {total} ml",
  turning: "Distribution de votre produit…",
  waitingDrop: "Vérification de la chute…",
  takeProduct: "Prenez votre produit",
  thanks: "Merci !",
  refundedTitle: "Désolé, le produit n’est pas sorti",
  refundedBody: "Votre paiement a été remboursé automatiquement. Rien n’a été débité.",
  underpaidTitle: "Le paiement était inférieur au prix",
  underpaidBody: "Votre paiement a été remboursé automatiquement. Rien n’a été débité : veuillez payer le montant exact affiché.",
  creditedTitle: "Désolé, le produit n’est pas sorti",
  creditedBody: "Vous avez un crédit de {amount} : choisissez un autre produit.",
  expiredTitle: "Facture expirée",
  expiredBody: "Rien n’a été débité.",
  cancelledTitle: "Commande annulée",
  cancelledBody: "Rien n’a été débité.",
  withdrawnTitle: "Cette facture a été retirée",
  withdrawnBody: "Le distributeur a redémarré ou a cessé de vendre. Rien n’a été débité : veuillez recommencer.",
  ok: "OK",
  outOfService: "Hors service",
  reasonDoor: "La porte est ouverte.",
  reasonPayments: "Les paiements sont indisponibles pour le moment.",
  reasonHardware: "Le distributeur a une panne matérielle.",
  reasonService: "Un technicien entretient le distributeur.",
  reasonUnknown: "Ce distributeur ne peut pas vendre pour le moment.",
  comeBack: "Revenez plus tard. Rien ne peut être payé sur cet écran.",
  errSoldOut: "Désolé, ce produit vient d’être épuisé.",
  errUnavailable: "Le distributeur ne peut pas vendre pour le moment. Rien n’a été débité.",
  errGeneric: "Une erreur est survenue ({code}). Rien n’a été débité.",
  service: "Maintenance",
  enterPin: "Code technicien",
  wrongPin: "Code incorrect",
  locked: "Trop de codes incorrects. Réessayez plus tard.",
  noPin: "Aucun code de maintenance n’est configuré.",
  signIn: "Valider",
  clear: "Effacer",
  exit: "Quitter",
  status: "État",
  stock: "Stock",
  harness: "Tests du matériel",
  mode: "Mode",
  selling: "En vente",
  yes: "oui",
  no: "non",
  payments: "Paiements",
  hardware: "Matériel",
  door: "Porte",
  faults: "Pannes",
  none: "aucune",
  version: "Version",
  uptime: "En marche depuis",
  fill: "Remplir",
  save: "Enregistrer",
  testVend: "Test de distribution",
  running: "En cours…",
  testOk: "Test {slot} : OK",
  testFailed: "Test {slot} échoué : {code}",
  runChecks: "Lancer les tests",
  pass: "réussi",
  fail: "échec",
  skip: "ignoré",
  saved: "Enregistré",
  sessionEnded: "La session de maintenance a expiré. Saisissez à nouveau le code.",
};

const ja: Messages = {
  keypadTitle: "自動販売機のボタンで選んでください",
  keypadBody: "自動販売機で商品の番号を押してから、ここでLightningウォレットでお支払いください。",
  selectionN: "商品番号 {n}",
  vmcVending: "お支払い済みです。商品を出しています…",
  reasonVmcOff: "この自動販売機は現在販売していません。",
  cancelOnKeypad: "自動販売機の取消ボタンでも取り消せます。",
  vmcCancelled: "取り消しました。請求はありません。",
  vmcNotInService: "先に自動販売機を保守モードにしてください（扉を開ける）。保守メニューは、自動販売機の制御装置が決済リーダーを停止している間だけ開きます。",
  openVmcDemo: "自動販売機を保守モードにする（デモ）",
  closeVmcDemo: "自動販売機の保守モードを終える（デモ）",
  mdbReader: "決済リーダー（MDB）",
  mdbBadLines: "インターフェースからの不正な行",
  mdbUnconfirmed: "結果のない販売（商品が出た可能性あり）",
  mdbApprovalTimeout: "VMC の承認タイムアウト",
  selections: "商品番号",
  selection: "番号",
  enabled: "販売中",
  testVendPress: "テスト販売 {n}：自動販売機の保守モードを終えて、ボタンで {n} を押してください…",
  demoPress: "{n} を押す（デモ）",
  creditBanner: "{amount} のクレジット：別の商品をお選びください",
  creditApplied: "クレジット適用：{amount}",
  pickAnother: "別の商品を選ぶ",
  done: "終了",
  errCreditGone: "このクレジットは使用済みか不明です（{code}）。請求はありません。",
  errCreditInUse: "このクレジットは支払い待ちの注文に予約されています。その注文が終わると再び使えます（長くても数分）。請求はありません。",
  errCreditUnsupported: "この自販機はまだクレジットを使えません。クレジットは運営者に記録されています。請求はありません。",
  doorClosed: "先に扉を開けてください。保守メニューは扉が開いているときだけ使えます。",
  openDoorDemo: "扉を開ける（デモ）",
  closeDoorDemo: "扉を閉める（デモ）",
  doorClosedSession: "扉が閉じられたため、保守セッションは終了しました。",
  modeNormal: "販売中",
  modeMaintenance: "販売停止（メンテナンス）",
  modeService: "保守（扉が開いています）",
  setInService: "販売を再開",
  setOutOfService: "販売を停止",
  modeSaved: "モードを保存しました：{mode}",
  connecting: "自販機に接続中…",
  reconnecting: "接続が切れました。再接続中…",
  choose: "商品を選んでください",
  soldOut: "売り切れ",
  unavailable: "販売停止中",
  rateAge: "レート {source}・{age}前",
  noPrice: "現在価格がありません",
  creating: "請求書を作成中…",
  scanToPay: "Lightning ウォレットでスキャン",
  expiresIn: "有効期限まで {time}",
  invoiceExpiring: "この請求書は期限切れです",
  cancel: "キャンセル",
  openWallet: "ウォレットで開く",
  demoPay: "デモウォレットで支払う",
  demoPaying: "支払い中…",
  paid: "お支払いありがとうございます。準備中…",
  pouring: "{total} ml 中 {done} ml 注いでいます",
  turning: "商品を出しています…",
  waitingDrop: "商品の落下を確認中…",
  takeProduct: "商品をお取りください",
  thanks: "ありがとうございました！",
  refundedTitle: "申し訳ありません。商品が出ませんでした",
  refundedBody: "お支払いは自動的に返金されました。請求はありません。",
  underpaidTitle: "お支払い額が価格に足りませんでした",
  underpaidBody: "お支払いは自動的に返金されました。請求はありません。表示された金額を全額お支払いください。",
  creditedTitle: "申し訳ありません。商品が出ませんでした",
  creditedBody: "{amount} のクレジットがあります。別の商品をお選びください。",
  expiredTitle: "請求書の期限が切れました",
  expiredBody: "請求はありません。",
  cancelledTitle: "注文をキャンセルしました",
  cancelledBody: "請求はありません。",
  withdrawnTitle: "この請求書は取り消されました",
  withdrawnBody: "自販機が再起動したか販売を停止しました。請求はありません。もう一度お試しください。",
  ok: "OK",
  outOfService: "販売停止中",
  reasonDoor: "扉が開いています。",
  reasonPayments: "現在お支払いを受け付けられません。",
  reasonHardware: "機械に故障があります。",
  reasonService: "技術者が点検中です。",
  reasonUnknown: "現在この自販機は販売できません。",
  comeBack: "後ほどお越しください。この画面では支払いできません。",
  errSoldOut: "申し訳ありません。この商品は売り切れました。",
  errUnavailable: "現在販売できません。請求はありません。",
  errGeneric: "エラーが発生しました（{code}）。請求はありません。",
  service: "保守",
  enterPin: "技術者 PIN",
  wrongPin: "PIN が違います",
  locked: "PIN の誤りが多すぎます。後でもう一度お試しください。",
  noPin: "この自販機には保守 PIN が設定されていません。",
  signIn: "決定",
  clear: "消去",
  exit: "終了",
  status: "状態",
  stock: "在庫",
  harness: "ハードウェア点検",
  mode: "モード",
  selling: "販売中",
  yes: "はい",
  no: "いいえ",
  payments: "決済",
  hardware: "ハードウェア",
  door: "扉",
  faults: "故障",
  none: "なし",
  version: "バージョン",
  uptime: "稼働時間",
  fill: "満杯",
  save: "保存",
  testVend: "テスト販売",
  running: "実行中…",
  testOk: "{slot} のテスト: OK",
  testFailed: "{slot} のテスト失敗: {code}",
  runChecks: "点検を実行",
  pass: "合格",
  fail: "不合格",
  skip: "スキップ",
  saved: "保存しました",
  sessionEnded: "保守セッションが終了しました。PIN を再入力してください。",
};

const zh: Messages = {
  keypadTitle: "请在售货机键盘上选择",
  keypadBody: "请在售货机上按下商品编号，然后在此用任意闪电钱包付款。",
  selectionN: "商品 {n}",
  vmcVending: "已付款。售货机正在出货…",
  reasonVmcOff: "售货机暂停销售。",
  cancelOnKeypad: "也可以在售货机键盘上取消。",
  vmcCancelled: "已取消，未扣款。",
  vmcNotInService: "请先让售货机进入其维护模式（打开机门）：售货机控制器关闭读卡器时，维护菜单才能打开。",
  openVmcDemo: "让售货机进入维护模式（演示）",
  closeVmcDemo: "结束售货机维护模式（演示）",
  mdbReader: "读卡器（MDB）",
  mdbBadLines: "接口的无效行",
  mdbUnconfirmed: "无结果的出货（商品可能已送出）",
  mdbApprovalTimeout: "VMC 批准超时",
  selections: "商品编号",
  selection: "编号",
  enabled: "在售",
  testVendPress: "测试出货 {n}：请退出售货机的维护模式，并在键盘上按 {n}…",
  demoPress: "按 {n}（演示）",
  creditBanner: "余额 {amount}：请选择其他商品",
  creditApplied: "已使用余额：{amount}",
  pickAnother: "选择其他商品",
  done: "完成",
  errCreditGone: "此余额已使用或不存在（{code}），未扣任何费用。",
  errCreditInUse: "此余额已被一个仍在等待付款的订单预留，该订单结束后即可再次使用（最多几分钟）。未扣任何费用。",
  errCreditUnsupported: "此售货机暂不支持使用余额：您的余额已为运营方记录，未扣任何费用。",
  doorClosed: "请先打开机门：维护菜单仅在机门打开时可用。",
  openDoorDemo: "打开机门（演示）",
  closeDoorDemo: "关闭机门（演示）",
  doorClosedSession: "机门已关闭：维护会话已结束。",
  modeNormal: "正常服务",
  modeMaintenance: "暂停服务（维护）",
  modeService: "维护（机门打开）",
  setInService: "恢复服务",
  setOutOfService: "暂停服务",
  modeSaved: "模式已保存：{mode}",
  connecting: "正在连接售货机…",
  reconnecting: "连接已断开，正在重新连接…",
  choose: "请选择商品",
  soldOut: "已售罄",
  unavailable: "暂不可售",
  rateAge: "汇率 {source}，{age}前",
  noPrice: "暂无价格",
  creating: "正在生成账单…",
  scanToPay: "请用闪电钱包扫码",
  expiresIn: "{time} 后过期",
  invoiceExpiring: "此账单已过期",
  cancel: "取消",
  openWallet: "在钱包中打开",
  demoPay: "用演示钱包支付",
  demoPaying: "支付中…",
  paid: "已支付！正在准备商品…",
  pouring: "已出 {done} / {total} 毫升",
  turning: "正在出货…",
  waitingDrop: "正在确认出货…",
  takeProduct: "请取走您的商品",
  thanks: "谢谢！",
  refundedTitle: "抱歉，商品未能出货",
  refundedBody: "您的付款已自动退回，未扣任何费用。",
  underpaidTitle: "付款金额低于价格",
  underpaidBody: "您的付款已自动退回，未扣任何费用。请按显示的全额付款。",
  creditedTitle: "抱歉，商品未能出货",
  creditedBody: "您有 {amount} 的余额：请选择其他商品。",
  expiredTitle: "账单已过期",
  expiredBody: "未扣任何费用。",
  cancelledTitle: "订单已取消",
  cancelledBody: "未扣任何费用。",
  withdrawnTitle: "此账单已撤回",
  withdrawnBody: "售货机已重启或停止销售，未扣任何费用。请重新开始。",
  ok: "确定",
  outOfService: "暂停服务",
  reasonDoor: "机门已打开。",
  reasonPayments: "暂时无法付款。",
  reasonHardware: "售货机硬件故障。",
  reasonService: "技术人员正在维护。",
  reasonUnknown: "售货机暂时无法销售。",
  comeBack: "请稍后再来。此屏幕无法付款。",
  errSoldOut: "抱歉，该商品刚刚售罄。",
  errUnavailable: "售货机暂时无法销售，未扣任何费用。",
  errGeneric: "出错了（{code}），未扣任何费用。",
  service: "维护",
  enterPin: "技术人员 PIN",
  wrongPin: "PIN 错误",
  locked: "PIN 错误次数过多，请稍后再试。",
  noPin: "此售货机未设置维护 PIN。",
  signIn: "确认",
  clear: "清除",
  exit: "退出",
  status: "状态",
  stock: "库存",
  harness: "硬件检测",
  mode: "模式",
  selling: "销售中",
  yes: "是",
  no: "否",
  payments: "支付",
  hardware: "硬件",
  door: "机门",
  faults: "故障",
  none: "无",
  version: "版本",
  uptime: "运行时间",
  fill: "补满",
  save: "保存",
  testVend: "测试出货",
  running: "运行中…",
  testOk: "{slot} 测试：正常",
  testFailed: "{slot} 测试失败：{code}",
  runChecks: "运行检测",
  pass: "通过",
  fail: "失败",
  skip: "跳过",
  saved: "已保存",
  sessionEnded: "维护会话已结束，请重新输入 PIN。",
};

const MESSAGES: Record<Lang, Messages> = { en, fr, ja, zh };

export function isLang(v: unknown): v is Lang {
  return typeof v === "string" && (LANGS as readonly string[]).includes(v);
}

/** A message with its `{name}` placeholders filled. */
export function t(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const s = MESSAGES[lang][key];
  return vars ? s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m)) : s;
}

const MSAT_PER_SAT = 1000n;

/**
 * Intl formatters, made once per language and options: building a currency formatter loads ICU data and costs
 * tens of ms on a Pi, and every render of the catalog formats every price.
 */
const formatters = new Map<string, Intl.NumberFormat>();

/*
 * English, the kiosk's first language, is formatted without Intl: the first Intl.NumberFormat of a page
 * initialises ICU, ~90 ms of a Pi-class CPU (Chromium throttled 4x) on the way to the catalog's first paint. The
 * strings are the same as Intl's en-US ones (i18n.test.ts compares them); currencies not listed here, and every
 * other language, go through Intl, which `warmFormats()` prepares after the first paint.
 */
const EN_SYMBOL: Record<string, string> = { EUR: "€", USD: "$", GBP: "£" };

/** "1234567" -> "1,234,567" (en-US grouping of a non-negative integer's digits). */
function groupEn(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Builds the formatters of a language ahead of use (after the first paint: ICU's start-up is then off its path). */
export function warmFormats(lang: Lang, currency?: string): void {
  try {
    numberFormat(lang).format(1);
    if (currency) numberFormat(lang, { style: "currency", currency }).format(1);
  } catch {
    // An unknown currency code: formatFiat reports it when used.
  }
}
function numberFormat(lang: Lang, opts?: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${lang} ${opts ? JSON.stringify(opts) : ""}`;
  let nf = formatters.get(key);
  if (!nf) formatters.set(key, (nf = new Intl.NumberFormat(LOCALE[lang], opts)));
  return nf;
}

/** Whole sats of an msat amount (rounded up: the kiosk never shows less than the invoice asks). */
export function satsOf(amountMsat: string): bigint {
  const msat = BigInt(amountMsat);
  return (msat + MSAT_PER_SAT - 1n) / MSAT_PER_SAT;
}

/** "1,234 sats" / "1 234 sats" / "1,234 sats" in the language's grouping. */
export function formatSats(lang: Lang, amountMsat: string): string {
  const sats = satsOf(amountMsat);
  return `${lang === "en" && sats >= 0n ? groupEn(sats.toString()) : numberFormat(lang).format(sats)} sats`;
}

/** A fiat amount in minor units as the language writes it: "€2.50", "2,50 €", "€2.50" (ja), "€2.50" (zh). */
export function formatFiat(lang: Lang, currency: string, amountMinor: number): string {
  const symbol = EN_SYMBOL[currency];
  if (lang === "en" && symbol && Number.isSafeInteger(amountMinor) && amountMinor >= 0) {
    const major = Math.floor(amountMinor / 100);
    return `${symbol}${groupEn(String(major))}.${String(amountMinor % 100).padStart(2, "0")}`;
  }
  const nf = numberFormat(lang, { style: "currency", currency });
  const digits = nf.resolvedOptions().maximumFractionDigits ?? 2;
  return nf.format(amountMinor / 10 ** digits);
}

/** "m:ss" of a non-negative duration. */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A short age ("3 min", "3 分") in the language, for the rate's age. */
export function formatAge(lang: Lang, ms: number): string {
  const min = Math.max(0, Math.round(ms / 60_000));
  const [value, unit] = min < 60 ? [min, "minute"] : [Math.round(min / 60), "hour"];
  if (lang === "en") return `${groupEn(String(value))} ${unit === "minute" ? "min" : "hr"}`;
  return numberFormat(lang, { style: "unit", unit, unitDisplay: "short" }).format(value);
}
