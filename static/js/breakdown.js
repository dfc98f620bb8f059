/* The "new proposal" form's live breakdown: the platform fee and the leader commission
 * rounded half up to the cent, the member pool what is left, and the pool split equally
 * among the members in order of joining, the spare cents one each to the first ones:
 * the rule of escrow/money.py, mirrored in whole cents. The rates come from the server
 * (settings, via the template); the card shows the server's own figures once sent. */
(function () {
  "use strict";

  // "1234.5" -> 123450 cents, or null when it is not an amount with at most 2 places.
  function toCents(raw) {
    var match = /^\s*(\d{1,7})(?:\.(\d{0,2}))?\s*$/.exec(raw || "");
    if (!match) return null;
    return Number(match[1]) * 100 + Number(((match[2] || "") + "00").slice(0, 2));
  }

  // A rate such as "0.1000" as an exact fraction of 10000.
  function toBasisPoints(rate) {
    var match = /^(\d+)(?:\.(\d{0,4}))?/.exec(String(rate));
    if (!match) return 0;
    return Number(match[1]) * 10000 + Number(((match[2] || "") + "0000").slice(0, 4));
  }

  function roundHalfUp(cents, basisPoints) {
    return Math.floor((cents * basisPoints * 2 + 10000) / 20000);
  }

  function show(cents, currency) {
    return (cents / 100).toFixed(2) + " " + currency;
  }

  function update(form) {
    var cents = toCents(form.elements.price.value);
    var currency = form.elements.currency ? form.elements.currency.value : "USD";
    var members = (form.getAttribute("data-members") || "").split(",").filter(Boolean);
    var out = function (name) { return form.querySelector('[data-out="' + name + '"]'); };
    var shares = out("shares");
    if (cents === null || cents <= 0) {
      ["fee", "commission", "pool"].forEach(function (name) { out(name).textContent = "–"; });
      shares.querySelectorAll("strong").forEach(function (el) { el.textContent = "–"; });
      return;
    }
    var fee = roundHalfUp(cents, toBasisPoints(form.getAttribute("data-platform-rate")));
    var commission = roundHalfUp(cents, toBasisPoints(form.getAttribute("data-leader-rate")));
    var pool = cents - fee - commission;
    out("fee").textContent = show(fee, currency);
    out("commission").textContent = show(commission, currency);
    out("pool").textContent = show(pool, currency);
    var count = Math.max(members.length, 1);
    var base = Math.floor(pool / count);
    var leftover = pool - base * count;
    shares.querySelectorAll("li").forEach(function (item, index) {
      item.querySelector("strong").textContent = show(base + (index < leftover ? 1 : 0), currency);
    });
  }

  // Delegated, so it keeps working after htmx swaps the panel.
  ["input", "change"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var form = event.target.form;
      if (form && form.hasAttribute("data-breakdown")) update(form);
    });
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-breakdown]").forEach(update);
  });
})();
