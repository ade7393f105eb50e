import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The pages' stylesheet and their one small script, served by Tutela itself: no other site is
/// asked for anything (the CSP allows only this one).
enum Assets {
    static let stylesheetPath = "/assets/tutela.css"
    static let scriptPath = "/assets/tutela.js"

    static func add(to router: Router<TutelaRequestContext>) {
        router.get(RouterPath(stylesheetPath)) { _, _ in
            serve(stylesheet, type: "text/css; charset=utf-8")
        }
        router.get(RouterPath(scriptPath)) { _, _ in
            serve(script, type: "text/javascript; charset=utf-8")
        }
    }

    private static func serve(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// What the script does, each only where it clearly helps, and every page works without it:
    /// the box of problems at the top of a form takes the focus (a screen reader reads it first);
    /// a Print button prints the page; while someone is typing into a form they have not sent, the
    /// session is kept alive (typing sends nothing, and a tutor writing a long review must not be
    /// signed out by the idle limit and lose it) and leaving the page asks first. It stops keeping
    /// the session alive ten minutes after the last keystroke.
    static let script = """
        "use strict";
        document.addEventListener("DOMContentLoaded", function () {
          var summary = document.querySelector(".error-summary");
          if (summary) { summary.setAttribute("tabindex", "-1"); summary.focus(); }
          document.querySelectorAll("[data-print]").forEach(function (button) {
            button.hidden = false;
            button.addEventListener("click", function () { window.print(); });
          });
          var typed = 0, pinged = Date.now(), sending = false;
          document.querySelectorAll("form[method=post]").forEach(function (form) {
            form.addEventListener("input", function () { typed = Date.now(); });
            form.addEventListener("submit", function () { sending = true; });
          });
          window.setInterval(function () {
            var now = Date.now();
            if (typed && now - typed < 600000 && now - pinged > 55000) {
              pinged = now;
              fetch("/keep-alive", { credentials: "same-origin", cache: "no-store" });
            }
          }, 15000);
          window.addEventListener("beforeunload", function (event) {
            if (typed && !sending) { event.preventDefault(); event.returnValue = ""; }
          });
        });

        """

    /// Plain, large, high-contrast (every pair at least 4.5:1), one column under 40em so that
    /// 320 px and 200% zoom need no sideways scrolling; a visible focus ring everywhere; print
    /// shows only the record, laid out like the paper form.
    static let stylesheet = """
        *, *::before, *::after { box-sizing: border-box; }
        html { font-size: 100%; -webkit-text-size-adjust: 100%; }
        body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
          line-height: 1.5; color: #0b0c0c; background: #fff; }
        a { color: #1d4f91; text-decoration: underline; text-underline-offset: 0.15em; }
        a:visited { color: #4c2c92; }
        a:hover { color: #0b2f5c; }
        :focus-visible { outline: 3px solid #fd0; outline-offset: 0; box-shadow: 0 0 0 6px #0b0c0c; }
        .skip-link { position: absolute; left: -9999px; top: 0; background: #fd0; color: #0b0c0c;
          padding: 0.5rem 1rem; z-index: 10; }
        .skip-link:focus { left: 0; }
        .site-header { background: #0b0c0c; color: #fff; padding: 0.75rem 1rem;
          display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: center; }
        .site-header a, .site-header a:visited, .site-header .link-button { color: #fff; }
        .brand { font-weight: 700; font-size: 1.25rem; text-decoration: none; }
        .site-header nav { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: center; }
        .site-header nav ul { list-style: none; margin: 0; padding: 0; display: flex;
          flex-wrap: wrap; gap: 0.5rem 1rem; }
        .who { margin: 0; font-size: 0.95rem; flex-basis: 100%; }
        main { max-width: 48rem; margin: 0 auto; padding: 1rem; }
        main:focus { outline: none; }
        footer { max-width: 48rem; margin: 2rem auto 0; padding: 1rem; border-top: 1px solid #505a5f;
          font-size: 0.95rem; }
        h1 { font-size: 2rem; line-height: 1.2; margin: 0.5rem 0 1rem; }
        h2 { font-size: 1.5rem; margin: 1.5rem 0 0.75rem; }
        .field { margin: 0 0 1.25rem; padding: 0; border: 0; }
        fieldset.field { min-width: 0; }
        label, legend { display: block; font-weight: 700; margin-bottom: 0.25rem; }
        .choice label { display: inline; font-weight: 400; margin-left: 0.5rem; }
        .choice { margin: 0.35rem 0; }
        .hint { color: #505a5f; margin: 0 0 0.35rem; }
        input[type=text], input[type=password], input[type=date], input[type=number], textarea,
        select { font: inherit; width: 100%; max-width: 36rem; padding: 0.4rem;
          border: 2px solid #0b0c0c; border-radius: 0; background: #fff; color: #0b0c0c; }
        input.short { max-width: 10rem; }
        input[type=radio], input[type=checkbox] { width: 1.25rem; height: 1.25rem;
          vertical-align: middle; }
        .field-error { border-left: 5px solid #d4351c; padding-left: 0.75rem; }
        .field-error input, .field-error textarea { border-color: #d4351c; }
        .error-message { color: #d4351c; font-weight: 700; margin: 0 0 0.35rem; }
        .error-summary { border: 5px solid #d4351c; padding: 1rem; margin-bottom: 1.5rem; }
        .error-summary h2 { margin-top: 0; }
        .error-summary a { color: #d4351c; font-weight: 700; }
        .notice { border-left: 10px solid #1d70b8; background: #f3f2f1; padding: 0.75rem 1rem;
          margin: 0 0 1.5rem; }
        .warning { border-left: 10px solid #d4351c; background: #f3f2f1; padding: 0.75rem 1rem;
          margin: 0 0 1.5rem; }
        button { font: inherit; font-weight: 700; background: #00703c; color: #fff; border: 0;
          padding: 0.5rem 1rem; cursor: pointer; box-shadow: 0 2px 0 #002d18; }
        button:hover { background: #005a30; }
        .link-button { background: none; box-shadow: none; color: #1d4f91; padding: 0;
          text-decoration: underline; font-weight: 400; }
        .link-button:hover { background: none; color: #0b2f5c; }
        form.inline { display: inline; }
        .actions { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin-top: 1.5rem; }
        .table-wrap { overflow-x: auto; margin-bottom: 1.5rem; }
        table { border-collapse: collapse; width: 100%; }
        caption { text-align: left; font-weight: 700; padding-bottom: 0.5rem; }
        th, td { text-align: left; padding: 0.5rem; border-bottom: 1px solid #b1b4b6;
          vertical-align: top; }
        .facts { display: grid; grid-template-columns: minmax(8rem, 14rem) 1fr; gap: 0.25rem 1rem; }
        .facts dt { font-weight: 700; }
        .facts dd { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
        .counts { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
        .counts li { border: 2px solid #0b0c0c; padding: 0.75rem 1rem; min-width: 10rem; }
        .counts strong { display: block; font-size: 2rem; }
        .visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: 0;
          overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
        .paper { border: 2px solid #0b0c0c; padding: 1rem; }
        .form-section { border: 1px solid #b1b4b6; padding: 1rem; margin: 0 0 1.5rem; min-width: 0; }
        .section-legend { font-size: 1.25rem; padding: 0 0.25rem; }
        .row-pair { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end; }
        .row-pair > .field:first-child { flex: 1 1 18rem; }
        .card { border: 2px solid #b1b4b6; padding: 0 1rem 1rem; margin-bottom: 1.5rem; }
        .key strong { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.4rem;
          letter-spacing: 0.05em; overflow-wrap: anywhere; }
        .codes strong { font-family: ui-monospace, Menlo, Consolas, monospace; }
        pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.95rem; }
        .filter { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: flex-end;
          margin-bottom: 1rem; }
        .filter .field { margin-bottom: 0.5rem; }
        .filter button { margin-bottom: 0.5rem; }
        .row-actions { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
        @media (max-width: 40em) {
          .facts { grid-template-columns: 1fr; }
          .facts dd { margin-bottom: 0.5rem; }
          h1 { font-size: 1.6rem; }
        }
        @media print {
          .site-header, footer, .actions, .skip-link, .no-print { display: none !important; }
          main { max-width: none; padding: 0; }
          .paper { border: 1px solid #000; }
          a { color: #000; }
        }

        """
}
