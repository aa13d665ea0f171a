// Simplified Chinese by default, English on request (kept in localStorage);
// every time shown in China Standard Time whatever the browser's zone.

export type Lang = 'zh' | 'en';

const zh = {
  title: '边境车辆监管',
  login: '登录',
  logout: '退出',
  username: '用户名',
  password: '密码',
  login_failed: '登录失败',
  wall: '指挥大屏',
  tablet: '巡查终端',
  replay: '轨迹回放',
  lang_switch: 'English',
  moving: '行驶',
  stopped: '停车',
  alerted: '告警',
  offline: '离线',
  vehicles: '车辆',
  port: '口岸',
  in_port: '口岸内',
  on_corridor: '通道上',
  open_alerts: '未处理告警',
  new_alerts: '最新告警',
  connected: '已连接',
  reconnecting: '重连中',
  no_alerts: '暂无告警',
  distance: '距离',
  vehicle: '车辆',
  evidence: '证据',
  track_2h: '近两小时轨迹',
  note: '备注',
  ack: '确认',
  resolve: '处置完成',
  follow: '跟踪',
  unfollow: '取消跟踪',
  back: '返回',
  done: '已提交',
  failed: '失败',
  from: '开始',
  to: '结束',
  load: '加载',
  play: '播放',
  pause: '暂停',
  step_back: '后退',
  step_fwd: '前进',
  speed: '速度',
  stops: '停留',
  duration: '时长',
  events: '事件',
  alerts: '告警',
  export: '导出',
  no_track: '该时段无轨迹',
  pick_vehicle: '选择车辆',
  status_open: '未处理',
  status_acknowledged: '已确认',
  status_resolved: '已处置',
  sev_info: '提示',
  sev_warning: '警告',
  sev_critical: '严重',
  kmh: '公里/时',
  zone_enter: '进入区域',
  zone_exit: '离开区域',
  border_cross: '越境',
  stop_start: '开始停留',
  stop_end: '结束停留',
  detour: '偏离线路',
  unauthorized_stop: '违规停车',
  crossing_mismatch: '口岸不符',
  border_crossing_outside_port: '非口岸越境',
  border_crossing_unverified: '越境地点不明',
  signal_lost: '信号丢失',
  gate_mismatch: '卡口信息不符',
  overstay: '逾期未出境',
  meeting: '异常会车',
  device_conflict: '终端位置冲突',
  seal_opened: '关锁途中开启',
  driver_mismatch: '驾驶员与申报不符',
  weight_mismatch: '过磅重量与申报不符',
  weighing_skipped: '未过磅',
  double_weighing: '两次过磅不符',
  emergency_crossing: '紧急通关',
  emergency_review: '紧急通关事后复核',
  weighing: '过磅',
  sos: '紧急求救（SOS）',
  device_alarm: '终端报警（无定位）',
  sos_reported: '报警时间',
  sos_position: '报告中的位置',
  sos_no_position: '报告未含位置',
  sos_device: '终端',
  sos_cell: '基站',
  driver: '司机',
  driver_identity: '司机插卡',
  driver_removed: '司机拔卡',
  seal_unlocked: '关锁解封',
  seal: '关锁',
  seal_state: '关锁状态',
  seal_locked: '已施封',
  seal_unlocked_state: '已解封',
  seal_rope_cut: '锁绳剪断',
  seal_shell_opened: '外壳打开',
  seal_unlock_refused: '解封被拒',
  battery_low: '电量低',
  unlock_card: '刷卡',
  unlock_password: '密码',
  place: '地点',
  method: '方式',
  declaration: '申报单',
  declared_card: '申报司机卡',
  presented_card: '实际插卡',
  driver_name: '司机姓名',
  inserted_at: '插卡时间',
  nearest_zone: '距{zone} {dist}',
  place_last_fix: '（最后有效定位）',
  place_unknown: '位置未知',
  kind: '类型',
  plate: '车牌',
  kind_truck: '货车',
  kind_resident_car: '边民车辆',
  kind_patrol: '巡逻车',
  kind_car: '小汽车',
  kind_bus: '客车',
  kind_other: '其他',
  late: '补传',
  total: '合计',
  status: '状态',
  severity: '级别',
  time: '时间',
  cst: '北京时间',
  forbidden: '当前角色无权访问此页面',
  audit: '审计日志',
  audit_filter: '筛选：用户、操作、对象',
  audit_intact: '哈希链完整',
  audit_broken: '哈希链断裂于',
  audit_seq: '序号',
  audit_time: '时间',
  audit_actor: '用户',
  audit_action: '操作',
  audit_object: '对象',
  audit_result: '结果',
  change_password: '修改密码',
  old_password: '当前密码',
  new_password: '新密码',
  new_password_again: '再次输入新密码',
  pw_policy: '新密码至少 10 个字符，且包含小写字母、大写字母、数字、其他字符中的至少三类。',
  pw_required: '首次登录或密码已过期：请先修改密码，修改后才能使用系统。',
  pw_mismatch: '两次输入的新密码不一致',
  pw_err_old: '当前密码不正确',
  pw_err_throttled: '尝试次数过多，请稍后再试',
  pw_err_short: '新密码太短：至少需要 10 个字符',
  pw_err_mix: '新密码须包含小写字母、大写字母、数字、其他字符中的至少三类',
  pw_err_same: '新密码不能与当前密码相同',
  pw_err_long: '新密码太长：最多 72 字节',
  pw_err_policy: '新密码不符合密码规则',
  pw_err_server: '服务器暂时无法修改密码，请稍后再试',
  pw_err_network: '无法连接服务器，请检查网络后重试',
  totp: '两步验证',
  totp_code: '验证码',
  totp_login_hint: '请输入身份验证器应用中的 6 位验证码，或一个恢复码。',
  totp_required_notice: '您的角色必须启用两步验证：请先完成设置，完成后才能使用系统。',
  totp_enabled: '两步验证已启用。',
  totp_start: '开始设置',
  totp_scan: '用身份验证器应用扫描二维码，或手动输入下面的密钥：',
  totp_secret: '密钥',
  totp_confirm: '确认启用',
  totp_recovery_title: '恢复码',
  totp_recovery_hint: '请立即抄下或打印这些恢复码并妥善保管：每个只能使用一次，丢失验证器时可代替验证码登录。它们只显示这一次。',
  totp_done: '我已保存恢复码',
  totp_err_code: '验证码不正确或已过期',
  totp_err_server: '服务器暂时无法完成两步验证设置，请稍后再试',
  role_admin: '系统管理员',
  role_security: '安全管理员',
  role_auditor: '安全审计员',
  role_command: '指挥员',
  role_patrol: '巡查员',
  role_investigator: '调查员',
} as const;

type Key = keyof typeof zh;

const en: Record<Key, string> = {
  title: 'BorderWatch',
  login: 'Sign in',
  logout: 'Sign out',
  username: 'Username',
  password: 'Password',
  login_failed: 'Sign-in failed',
  wall: 'Wall',
  tablet: 'Patrol',
  replay: 'Replay',
  lang_switch: '中文',
  moving: 'Moving',
  stopped: 'Stopped',
  alerted: 'Alerted',
  offline: 'Offline',
  vehicles: 'Vehicles',
  port: 'Port',
  in_port: 'In port',
  on_corridor: 'On corridor',
  open_alerts: 'Open alerts',
  new_alerts: 'New alerts',
  connected: 'Live',
  reconnecting: 'Reconnecting',
  no_alerts: 'No alerts',
  distance: 'Distance',
  vehicle: 'Vehicle',
  evidence: 'Evidence',
  track_2h: 'Last two hours',
  note: 'Note',
  ack: 'Acknowledge',
  resolve: 'Resolve',
  follow: 'Follow',
  unfollow: 'Stop following',
  back: 'Back',
  done: 'Saved',
  failed: 'Failed',
  from: 'From',
  to: 'To',
  load: 'Load',
  play: 'Play',
  pause: 'Pause',
  step_back: 'Step back',
  step_fwd: 'Step forward',
  speed: 'Speed',
  stops: 'Stops',
  duration: 'Duration',
  events: 'Events',
  alerts: 'Alerts',
  export: 'Export',
  no_track: 'No track in this period',
  pick_vehicle: 'Pick a vehicle',
  status_open: 'Open',
  status_acknowledged: 'Acknowledged',
  status_resolved: 'Resolved',
  sev_info: 'Info',
  sev_warning: 'Warning',
  sev_critical: 'Critical',
  kmh: 'km/h',
  zone_enter: 'Zone entered',
  zone_exit: 'Zone left',
  border_cross: 'Border crossed',
  stop_start: 'Stop began',
  stop_end: 'Stop ended',
  detour: 'Detour',
  unauthorized_stop: 'Unauthorized stop',
  crossing_mismatch: 'Crossing at wrong port',
  border_crossing_outside_port: 'Crossing outside port',
  border_crossing_unverified: 'Crossing place unknown',
  signal_lost: 'Signal lost',
  gate_mismatch: 'Gate mismatch',
  overstay: 'Overstay',
  meeting: 'Meeting',
  device_conflict: 'Conflicting device reports',
  seal_opened: 'Seal opened en route',
  driver_mismatch: 'Driver not the declared one',
  weight_mismatch: 'Weight differs from declaration',
  weighing_skipped: 'Not weighed',
  double_weighing: 'Two weighings disagree',
  emergency_crossing: 'Emergency crossing',
  emergency_review: 'Emergency crossing: review',
  weighing: 'Weighbridge reading',
  sos: 'Emergency call (SOS)',
  device_alarm: 'Device alarm (no position)',
  sos_reported: 'Reported at',
  sos_position: 'Position in the report',
  sos_no_position: 'none in the report',
  sos_device: 'Device',
  sos_cell: 'Cell',
  driver: 'Driver',
  driver_identity: 'Driver card inserted',
  driver_removed: 'Driver card removed',
  seal_unlocked: 'Seal unlocked',
  seal: 'Seal',
  seal_state: 'Seal state',
  seal_locked: 'locked',
  seal_unlocked_state: 'unlocked',
  seal_rope_cut: 'rope cut',
  seal_shell_opened: 'shell opened',
  seal_unlock_refused: 'unlock refused',
  battery_low: 'battery low',
  unlock_card: 'card',
  unlock_password: 'password',
  place: 'Place',
  method: 'Method',
  declaration: 'Declaration',
  declared_card: 'Declared driver card',
  presented_card: 'Card inserted',
  driver_name: 'Driver name',
  inserted_at: 'Inserted at',
  nearest_zone: '{dist} from {zone}',
  place_last_fix: ' (last valid fix)',
  place_unknown: 'position unknown',
  kind: 'Kind',
  plate: 'Plate',
  kind_truck: 'Truck',
  kind_resident_car: 'Resident car',
  kind_patrol: 'Patrol',
  kind_car: 'Car',
  kind_bus: 'Bus',
  kind_other: 'Other',
  late: 'late',
  total: 'Total',
  status: 'Status',
  severity: 'Severity',
  time: 'Time',
  cst: 'CST',
  forbidden: 'Your role cannot open this view',
  audit: 'Audit',
  audit_filter: 'Filter: user, action, object',
  audit_intact: 'Hash chain intact',
  audit_broken: 'Hash chain broken at',
  audit_seq: 'Seq',
  audit_time: 'Time',
  audit_actor: 'User',
  audit_action: 'Action',
  audit_object: 'Object',
  audit_result: 'Result',
  change_password: 'Change password',
  old_password: 'Current password',
  new_password: 'New password',
  new_password_again: 'New password again',
  pw_policy: 'At least 10 characters, from at least three of: lower case, upper case, digits, other characters.',
  pw_required: 'First sign-in or expired password: change your password to go on.',
  pw_mismatch: 'The new passwords differ',
  pw_err_old: 'The current password is wrong',
  pw_err_throttled: 'Too many attempts; try again later',
  pw_err_short: 'The new password is too short: at least 10 characters',
  pw_err_mix: 'The new password must mix at least three of: lower case, upper case, digits, other characters',
  pw_err_same: 'The new password must differ from the current one',
  pw_err_long: 'The new password is too long: 72 bytes at most',
  pw_err_policy: 'The new password does not meet the password rules',
  pw_err_server: 'The server cannot change the password now; try again later',
  pw_err_network: 'Cannot reach the server; check the network and try again',
  totp: 'Two-factor sign-in',
  totp_code: 'Code',
  totp_login_hint: 'Enter the 6-digit code of your authenticator app, or a recovery code.',
  totp_required_notice: 'Your role requires two-factor sign-in: set it up to go on.',
  totp_enabled: 'Two-factor sign-in is on.',
  totp_start: 'Set up',
  totp_scan: 'Scan the QR code with your authenticator app, or type in the key below:',
  totp_secret: 'Key',
  totp_confirm: 'Turn on',
  totp_recovery_title: 'Recovery codes',
  totp_recovery_hint: 'Write down or print these recovery codes now and keep them safe: each signs you in once in place of a code if you lose your authenticator. They are shown only this once.',
  totp_done: 'I have saved the recovery codes',
  totp_err_code: 'The code is wrong or has expired',
  totp_err_server: 'The server cannot set up two-factor sign-in now; try again later',
  role_admin: 'Administrator',
  role_security: 'Security administrator',
  role_auditor: 'Auditor',
  role_command: 'Command',
  role_patrol: 'Patrol',
  role_investigator: 'Investigator',
};

const LANG_KEY = 'bw.lang';
let lang: Lang = localStorage.getItem(LANG_KEY) === 'en' ? 'en' : 'zh';

export function getLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem(LANG_KEY, l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}

/** t translates a key; unknown keys (e.g. a new alert type) fall back to the key itself. */
export function t(key: string): string {
  const d: Record<string, string> = lang === 'zh' ? zh : en;
  return d[key] ?? key;
}

const partsFmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function parts(d: Date): Record<string, string> {
  const p: Record<string, string> = {};
  for (const x of partsFmt.formatToParts(d)) p[x.type] = x.value;
  return p;
}

/** "2026-11-28 12:17:18" in China Standard Time. */
export function fmtTime(v: string | number | Date): string {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d.getTime())) return '';
  const p = parts(d);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

export function fmtClock(v: string | number | Date): string {
  return fmtTime(v).slice(11);
}

/** Value for <input type="datetime-local"> showing the instant in CST. */
export function toCstInput(d: Date): string {
  return fmtTime(d).replace(' ', 'T').slice(0, 16);
}

/** Reads an <input type="datetime-local"> value as CST (UTC+8, no daylight saving). */
export function fromCstInput(v: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  return new Date(Date.UTC(+y, +mo - 1, +d, +h - 8, +mi, +(s ?? 0)));
}

export function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (lang === 'zh') return h ? `${h}小时${m}分` : m ? `${m}分${sec}秒` : `${sec}秒`;
  return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

/** "张三（CY0001）": a driver by name and card. */
export function fmtDriverCard(d: { name: string; card_id: string }): string {
  const name = d.name || '—';
  return lang === 'zh' ? `${name}（${d.card_id}）` : `${name} (${d.card_id})`;
}

/** "司机 张三（CY0001）": the driver whose card is in the vehicle's reader. */
export function fmtDriver(d: { name: string; card_id: string }): string {
  return `${t('driver')} ${fmtDriverCard(d)}`;
}

export function fmtDistance(m: number): string {
  return m >= 1000 ? `${(m / 1000).toFixed(m >= 10_000 ? 0 : 1)} km` : `${Math.round(m)} m`;
}

/** A seal state in words: 已施封, 已解封, 锁绳剪断, 外壳打开 (the 'unlocked' event reads 关锁解封). */
export function fmtSealState(state: string): string {
  return t(state === 'unlocked' ? 'seal_unlocked_state' : `seal_${state}`);
}

/** "已解封 · 电量低": a seal's state and its battery. */
export function fmtSeal(state: string, batteryLow: boolean): string {
  return `${fmtSealState(state)}${batteryLow ? ` · ${t('battery_low')}` : ''}`;
}
