/* The conversation's websocket: new messages appear without a reload, sending goes
 * through the socket's "message.send" (falling back to the form's normal POST when the
 * socket is not open), and proposal, task and dispute events make htmx re-fetch the
 * parts of the page that show them. Used by the chat, the task dashboard and the
 * dispute page (anything with data-conversation-socket). */
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // The same format as the server's `when` filter ("26 Nov 2026, 14:05", UTC).
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return d.getUTCDate() + " " + MONTHS[d.getUTCMonth()] + " " + d.getUTCFullYear() + ", " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
  }

  function text(tag, className, value) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (value !== undefined) el.textContent = value;
    return el;
  }

  // What the statuses that need saying mean, rendered once in the page (`status_help_data`).
  function readStatusHelp() {
    var data = document.getElementById("status-help");
    return data ? JSON.parse(data.textContent) : {};
  }

  // A status badge as _message.html writes it: a status that needs saying carries its
  // meaning, as a tooltip and as text for screen readers.
  function badge(code, label, help) {
    var el = text("span", "status-badge status-" + code);
    if (!Object.prototype.hasOwnProperty.call(help, code)) {
      el.textContent = label;
      return el;
    }
    var abbr = text("abbr", "", label);
    abbr.title = help[code];
    el.appendChild(abbr);
    el.appendChild(text("span", "visually-hidden", ": " + help[code]));
    return el;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-conversation-socket]");
    if (!root || !("WebSocket" in window) || !window.mpLive) return;
    var userId = Number(root.getAttribute("data-user-id"));
    var lastId = Number(root.getAttribute("data-last-message-id") || 0);
    var list = document.getElementById("messages");
    var form = document.getElementById("composer");
    var errorBox = document.getElementById("composer-error");
    var typing = document.getElementById("typing");
    var status = document.getElementById("live-status");
    var typingTimer = null;
    var lastTypingSent = 0;
    var pending = {};
    var statusHelp = readStatusHelp();
    // Read frames go out at most once a second, carrying the newest id seen (the server
    // limits them per user, and writes the read mark only when it moves forward).
    var readTimer = null;
    var readUpTo = 0;

    function markRead(messageId) {
      if (messageId > readUpTo) readUpTo = messageId;
      if (readTimer) return;
      readTimer = setTimeout(function () {
        readTimer = null;
        live.send({ type: "read", last_message_id: readUpTo });
      }, 1000);
    }

    function setState(state) {
      if (!status) return;
      status.setAttribute("data-state", state);
      status.textContent = state === "online" ? "Live" : state === "closed" ? "Live updates stopped: reload the page" : "Live updates: reconnecting…";
    }

    function scrollDown() {
      if (list) list.scrollTop = list.scrollHeight;
    }

    function addMessage(message) {
      if (!list || !message || typeof message.id !== "number") return;
      if (message.id > lastId) lastId = message.id;
      if (document.getElementById("message-" + message.id)) return;
      var empty = list.querySelector(".empty");
      if (empty) empty.remove();
      var sender = message.sender;
      var item = text("li", "msg " + (!sender ? "msg-system" : sender.id === userId ? "msg-mine" : "msg-other"));
      item.id = "message-" + message.id;
      item.setAttribute("data-message-id", message.id);
      var meta = text("p", "msg-meta");
      meta.appendChild(text("strong", "", sender ? sender.username : "Update"));
      meta.appendChild(document.createTextNode(" "));
      var time = text("time", "", when(message.created_at));
      time.setAttribute("datetime", message.created_at || "");
      meta.appendChild(time);
      var body = text("p", "msg-body");
      String(message.body || "").split("\n").forEach(function (line, index) {
        if (index) body.appendChild(document.createElement("br"));
        body.appendChild(document.createTextNode(line));
      });
      item.appendChild(meta);
      item.appendChild(body);
      if (message.metadata && message.metadata.type === "proposal") {
        var cardLink = text("p", "msg-card-link");
        var anchor = text("a", "", "See the proposal card");
        anchor.href = "#proposal-" + message.metadata.proposal_id;
        cardLink.appendChild(anchor);
        cardLink.appendChild(document.createTextNode(" "));
        // The same coloured badge as the proposal cards (the status is a code: [a-z_]).
        var code = String(message.metadata.status || "").replace(/[^a-z_]/g, "");
        var status = code.replace(/_/g, " ");
        cardLink.appendChild(badge(code, status.charAt(0).toUpperCase() + status.slice(1), statusHelp));
        item.appendChild(cardLink);
      }
      // Keep the list in id order even if frames arrive out of order.
      var next = null;
      list.querySelectorAll("[data-message-id]").forEach(function (el) {
        if (!next && Number(el.getAttribute("data-message-id")) > message.id) next = el;
      });
      list.insertBefore(item, next);
      scrollDown();
      if (message.metadata && message.metadata.type === "proposal") window.mpLive.fire("mp-proposal", message);
    }

    function onFrame(frame) {
      switch (frame.type) {
        case "message.created":
          addMessage(frame.message);
          // Read while looking at it: the unread badge stays at zero for this chat.
          if (document.visibilityState === "visible") markRead(frame.message.id);
          break;
        case "message.ack":
          delete pending[frame.client_id];
          addMessage(frame.message);
          break;
        case "proposal.updated":
          window.mpLive.fire("mp-proposal", frame);
          break;
        case "task.updated":
          window.mpLive.fire("mp-task", frame);
          break;
        case "dispute.updated":
          window.mpLive.fire("mp-dispute", frame);
          break;
        case "typing":
          if (typing && frame.user && frame.user.id !== userId) {
            typing.textContent = frame.user.username + " is typing…";
            clearTimeout(typingTimer);
            typingTimer = setTimeout(function () { typing.textContent = ""; }, 3000);
          }
          break;
        case "error":
          // A refused typing or read notice is not the writer's business.
          if (frame.frame === "typing" || frame.frame === "read") break;
          if (errorBox && frame.error) errorBox.textContent = frame.error.message;
          if (frame.client_id && pending[frame.client_id] && form) {
            form.elements.body.value = pending[frame.client_id];
            delete pending[frame.client_id];
          }
          break;
        default:
          break;
      }
    }

    var path = root.getAttribute("data-conversation-socket");
    var live = window.mpLive.connect(function () { return path + "?last_message_id=" + lastId; }, onFrame, { onState: setState });
    scrollDown();

    if (form) {
      form.addEventListener("submit", function (event) {
        var body = form.elements.body.value;
        if (!body.trim() || !live.isOpen()) return; // the normal POST takes over
        var clientId = "c" + Date.now() + Math.random().toString(16).slice(2);
        if (live.send({ type: "message.send", client_id: clientId, body: body })) {
          event.preventDefault();
          pending[clientId] = body;
          form.elements.body.value = "";
          if (errorBox) errorBox.textContent = "";
        }
      });
      form.elements.body.addEventListener("input", function () {
        var now = Date.now();
        if (now - lastTypingSent > 2000) {
          lastTypingSent = now;
          live.send({ type: "typing" });
        }
      });
      form.elements.body.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey) {
          event.preventDefault();
          if (form.requestSubmit) form.requestSubmit();
          else form.submit();
        }
      });
    }
  });
})();
