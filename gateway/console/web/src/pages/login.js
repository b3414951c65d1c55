// The login page (#/login). A failed login's reason goes to the error bar.

import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { api, ApiError } from "../api.js";
import { clearError, showError } from "../ui.js";

export default function mount(root, route, app) {
  const user = h("input", { id: "login-user", name: "user", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { id: "login-submit", type: "submit", class: "primary" }, t("login.submit"));
  const form = h(
    "form",
    { class: "login", "data-login": "" },
    h("h1", null, t("app.name")),
    h("p", { class: "muted" }, t("app.tagline")),
    h("label", { for: "login-user" }, t("login.user")),
    user,
    h("label", { for: "login-password" }, t("login.password")),
    password,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!user.value.trim() || !password.value) {
      showError(t("login.missing"));
      return;
    }
    submit.disabled = true;
    try {
      const s = await api("POST", "session", { user: user.value.trim(), password: password.value }, { quiet401: true });
      clearError();
      app.loggedIn(s);
    } catch (err) {
      password.value = "";
      password.focus();
      showError(err instanceof ApiError && err.status === 401 ? t("login.wrong") + (err.message ? ` (${err.message})` : "") : err.message);
    } finally {
      submit.disabled = false;
    }
  });
  replace(root, form);
  setTimeout(() => user.focus(), 0);
  return () => {};
}
