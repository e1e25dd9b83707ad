// Sign-in: username and password; the browser's device id is made once per user and kept.

import {login, ApiError} from '../api.js';
import {h, mount} from '../dom.js';
import {buildForm} from '../ui.js';

const HINTS = {
  bad_credentials: '用户名或密码错误，或账号已停用。',
  device_in_use: '此浏览器的设备编号已登记给另一位用户；请管理员在“用户”页释放该设备，或换用其他浏览器。',
};

export function loginPage(root, {onSignedIn}) {
  const reason = sessionStorage.getItem('fieldlog.signout_reason');
  sessionStorage.removeItem('fieldlog.signout_reason');
  const {form} = buildForm([
    {name: 'username', label: '用户名 Username', required: true, autocomplete: 'username'},
    {name: 'password', label: '密码 Password', type: 'password', required: true, autocomplete: 'current-password'},
  ], {
    submitLabel: '登录 Sign in',
    onSubmit: async (values) => {
      try {
        await login(values.username, values.password);
      } catch (err) {
        if (err instanceof ApiError && HINTS[err.reason]) {
          err.problem.detail = `${HINTS[err.reason]} (${err.problem.detail})`;
        }
        throw err;
      }
      await onSignedIn();
      return null;
    },
  });
  mount(root, h('section', {class: 'card login'},
    h('h1', {}, '登录 Sign in'),
    h('p', {class: 'muted'}, '受援医院审核人、派出医院人事科与管理员使用。Supervisors, HR officers and administrators.'),
    reason ? h('div', {class: 'alert warn', role: 'status'}, `已退出登录：${reason}`) : null,
    form));
  form.querySelector('input').focus();
}
