/* Live updates over the site's websockets, without a framework.
 *
 * `mpLive.connect(path, onFrame)` keeps a socket open (reconnecting with backoff) and
 * hands each JSON frame to `onFrame`. Frames become DOM events on <body> ("mp-proposal",
 * "mp-task", "mp-dispute", "mp-notification", "mp-wallet"); page parts listen with
 * htmx (hx-trigger="mp-task from:body") and re-fetch their HTML, so the frames' JSON
 * shape does not matter to the pages.
 */
(function () {
  "use strict";

  // Close codes after which reconnecting is pointless: not signed in, not allowed.
  var FINAL = { 4401: true, 4403: true, 4404: true };

  function fire(name, detail) {
    document.body.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function socketUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function connect(path, onFrame, options) {
    options = options || {};
    var socket = null;
    var delay = 1000;
    var closedForGood = false;
    var handle = {
      send: function (frame) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(frame));
        return true;
      },
      isOpen: function () {
        return !!socket && socket.readyState === WebSocket.OPEN;
      },
    };

    function open() {
      var url = socketUrl(typeof path === "function" ? path() : path);
      socket = new WebSocket(url);
      socket.addEventListener("open", function () {
        delay = 1000;
        if (options.onState) options.onState("online");
      });
      socket.addEventListener("message", function (event) {
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        onFrame(frame, handle);
      });
      socket.addEventListener("close", function (event) {
        if (FINAL[event.code]) {
          closedForGood = true;
          if (options.onState) options.onState("closed", event.code);
          return;
        }
        if (options.onState) options.onState("offline");
        if (!closedForGood) {
          setTimeout(open, delay);
          delay = Math.min(delay * 2, 15000);
        }
      });
    }

    open();
    return handle;
  }

  function relay(frame) {
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "notification.created") fire("mp-notification", frame);
    else if (frame.type === "wallet.updated") fire("mp-wallet", frame);
  }

  window.mpLive = { connect: connect, fire: fire };

  document.addEventListener("DOMContentLoaded", function () {
    var path = document.body.getAttribute("data-notifications-socket");
    if (path && "WebSocket" in window) connect(path, relay);
  });
})();
