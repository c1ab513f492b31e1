// First-admin setup: the one-time link printed by `etsygen dev` (or `etsygen users setup-link`) opens this
// page; it creates the admin with POST /v1/auth/setup, signs in and goes to the dashboard.
"use strict";

const $ = (selector) => document.querySelector(selector);
const token = new URLSearchParams(window.location.search).get("token") || "";

async function call(path, options = {}) {
  const headers = { accept: "application/json" };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET", headers, credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.title)) || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

function unusable(message) {
  $("#setup-form").hidden = true;
  $("#setup-title").textContent = "This setup link no longer works";
  $("#setup-intro").textContent = message.charAt(0).toUpperCase() + message.slice(1) + ".";
  const link = document.createElement("a");
  link.href = "/dashboard/";
  link.textContent = "Sign in";
  $("#setup-expiry").replaceChildren("Already have an account? ", link, ".");
}

async function check() {
  if (!token) {
    unusable("This page needs the setup link's token: open the full link that `etsygen dev` printed.");
    return;
  }
  try {
    const status = await call(`/v1/auth/setup?token=${encodeURIComponent(token)}`);
    const until = new Date(status.expires_at);
    const time = until.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    $("#setup-expiry").textContent = `This link works once, until ${time}.`;
  } catch (error) {
    unusable(error.message);
  }
}

$("#setup-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const email = String(form.get("email"));
  const password = String(form.get("password"));
  $("#setup-error").textContent = "";
  if (password !== String(form.get("again"))) {
    $("#setup-error").textContent = "The two passwords differ.";
    return;
  }
  try {
    await call("/v1/auth/setup", { method: "POST", body: { token, email, password } });
    const login = await call("/v1/auth/login", { method: "POST", body: { email, password } });
    sessionStorage.setItem("etsygen-csrf", login.csrf_token);
    window.location.assign("/dashboard/");
  } catch (error) {
    if (error.status === 404 || error.status === 409) unusable(error.message);
    else $("#setup-error").textContent = error.message;
  }
});

check();
