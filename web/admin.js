// Admin: users, roles and API tokens (GET/POST /api/v1/admin/...; admin role only).
import { t } from './i18n.js';
import { $, el, api, field, select, enumLabel, formatDate } from './util.js';

export class AdminScreen {
  constructor(ctx) {
    this.ctx = ctx;
    this.roles = [];
    const panel = $('admin-panel');
    const uname = el('input', { id: 'admin-new-username', required: true, autocomplete: 'off', spellcheck: false });
    const role = el('select', { id: 'admin-new-role' });
    const pw = el('input', { id: 'admin-new-password', type: 'password', required: true, autocomplete: 'new-password', minLength: 10 });
    const userForm = el('form', { id: 'admin-user-form', noValidate: true },
      el('h3', {}, t('admin.add_user')),
      field('login.username', uname), field('admin.role', role), field('login.password', pw, 'admin.password_hint'),
      el('button', { type: 'submit', className: 'primary' }, t('admin.add_user')));
    const tokUser = el('select', { id: 'admin-token-user' });
    const tokName = el('input', { id: 'admin-token-name', required: true, maxLength: 100 });
    const tokForm = el('form', { id: 'admin-token-form', noValidate: true },
      el('h3', {}, t('admin.new_token')),
      field('admin.token_user', tokUser), field('admin.token_name', tokName, 'admin.token_name_hint'),
      el('button', { type: 'submit', className: 'primary' }, t('admin.new_token')));
    panel.append(
      el('h2', { id: 'admin-heading', tabIndex: -1 }, t('admin.heading')),
      el('p', { id: 'admin-status', className: 'status', role: 'status', 'aria-live': 'polite' }),
      el('h3', {}, t('admin.users')),
      el('table', { id: 'admin-users', className: 'table' }),
      userForm,
      el('h3', {}, t('admin.tokens')),
      el('div', { id: 'admin-secret', className: 'secret', hidden: true, role: 'alert' }),
      el('table', { id: 'admin-tokens', className: 'table' }),
      tokForm);
    userForm.addEventListener('submit', (ev) => { ev.preventDefault(); this.addUser(); });
    tokForm.addEventListener('submit', (ev) => { ev.preventDefault(); this.addToken(); });
  }

  open() { $('admin-heading').focus(); return this.load(); }
  close() { $('admin-secret').hidden = true; $('admin-secret').replaceChildren(); }

  status(msg, error = false) {
    $('admin-status').textContent = msg;
    $('admin-status').classList.toggle('error', error);
  }

  async load() {
    let users, tokens;
    try {
      [users, tokens] = await Promise.all([api('/admin/users'), api('/admin/tokens')]);
    } catch (e) {
      return this.status(e.message, true);
    }
    this.roles = users.roles || [];
    const roleSel = $('admin-new-role');
    if (!roleSel.options.length) for (const r of this.roles) roleSel.append(el('option', { value: r }, enumLabel('role', r)));
    const tu = $('admin-token-user');
    const keep = tu.value;
    tu.replaceChildren(...users.items.filter((u) => !u.disabled).map((u) => el('option', { value: u.username, selected: u.username === keep }, u.username)));

    const ut = $('admin-users');
    ut.replaceChildren(el('thead', {}, el('tr', {}, ...['login.username', 'admin.role', 'admin.state', 'admin.action'].map((k) => el('th', { scope: 'col' }, t(k))))));
    const ub = el('tbody');
    for (const u of users.items) {
      const btn = el('button', { type: 'button', className: 'small' }, t(u.disabled ? 'admin.enable' : 'admin.disable'));
      btn.setAttribute('aria-label', t(u.disabled ? 'admin.enable_label' : 'admin.disable_label', { user: u.username }));
      btn.disabled = u.username === this.ctx.user().username;
      btn.addEventListener('click', async () => {
        try {
          await api(`/admin/users/${encodeURIComponent(u.username)}/disabled`, { method: 'PUT', json: { disabled: !u.disabled } });
          this.status(t(u.disabled ? 'admin.enabled' : 'admin.disabled', { user: u.username }));
          await this.load();
        } catch (e) { this.status(e.message, true); }
      });
      ub.append(el('tr', {}, el('td', { lang: '' }, u.username), el('td', {}, enumLabel('role', u.role)),
        el('td', {}, t(u.disabled ? 'admin.is_disabled' : 'admin.is_active')), el('td', {}, btn)));
    }
    ut.append(ub);

    const tt = $('admin-tokens');
    tt.replaceChildren(el('thead', {}, el('tr', {}, ...['admin.token_name', 'admin.token_user', 'field.created_at', 'admin.state', 'admin.action'].map((k) => el('th', { scope: 'col' }, t(k))))));
    const tb = el('tbody');
    for (const k of tokens.items) {
      const cell = el('td');
      if (!k.revoked) {
        const btn = el('button', { type: 'button', className: 'small' }, t('admin.revoke'));
        btn.setAttribute('aria-label', t('admin.revoke_label', { name: k.name }));
        btn.addEventListener('click', async () => {
          if (!confirm(t('admin.revoke_confirm', { name: k.name }))) return;
          try {
            await api(`/admin/tokens/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
            this.status(t('admin.revoked', { name: k.name }));
            await this.load();
          } catch (e) { this.status(e.message, true); }
        });
        cell.append(btn);
      }
      tb.append(el('tr', {}, el('td', {}, k.name), el('td', {}, k.username), el('td', {}, formatDate(k.created_at)),
        el('td', {}, t(k.revoked ? 'admin.is_revoked' : 'admin.is_active')), cell));
    }
    if (!tokens.items.length) tb.append(el('tr', {}, el('td', { colSpan: 5 }, t('list.empty'))));
    tt.append(tb);
  }

  async addUser() {
    const username = $('admin-new-username').value.trim();
    const password = $('admin-new-password').value;
    try {
      await api('/admin/users', { method: 'POST', json: { username, role: $('admin-new-role').value, password } });
      $('admin-new-username').value = '';
      $('admin-new-password').value = '';
      this.status(t('admin.user_added', { user: username }));
      await this.load();
    } catch (e) { this.status(e.message, true); }
  }

  async addToken() {
    try {
      const r = await api('/admin/tokens', { method: 'POST', json: { username: $('admin-token-user').value, name: $('admin-token-name').value.trim() } });
      $('admin-token-name').value = '';
      const box = $('admin-secret');
      box.replaceChildren(el('p', {}, t('admin.secret_once', { name: r.name })), el('code', { id: 'admin-secret-value' }, r.secret));
      box.hidden = false;
      await this.load();
    } catch (e) { this.status(e.message, true); }
  }
}
