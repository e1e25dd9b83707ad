// Chinese labels of the states and actions the API answers with keys.

export const ENTRY_STATUS = {
  draft: '草稿', submitted: '待审核', approved: '已通过', returned: '已退回',
};

export const LOCK_REASONS = {
  approved: '已通过', month_closed: '月度已关账', outside_window: '超出可编辑期', under_review: '审核中', superseded: '已被更正取代',
};

export const CHANGES = {
  create: '创建', edit: '修改', update: '修改', submit: '提交', approve: '通过', return: '退回', unapprove: '撤销通过',
  revise: '发起更正', delete: '删除', correct: '审核人纠正',
};

export function statusLabel(s) {
  return ENTRY_STATUS[s] ? `${ENTRY_STATUS[s]} ${s}` : s;
}

export const EXPORT_STATUS = {queued: '排队中', running: '生成中', done: '已完成', failed: '失败'};

export const FORMATS = {pdf: 'PDF 证明文件', xlsx: 'Excel 表格 (XLSX)', csv: 'CSV 数据'};
