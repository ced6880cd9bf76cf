// Soot's one script; every page works without it.
// - Charts: the exact value of a bar, dot or line on hover and on touch. Each mark carries an SVG <title> (which
//   browsers show late, and never on touch); this moves it to a tip that follows the pointer.
// - Copy buttons on tokens and snippets (<pre class="copy">).
// - Times in the viewer's own time zone (<time data-local>, written in UTC by the server).
(function () {
  'use strict';
  var tip = null;
  function copyButtons() {
    var blocks = document.querySelectorAll('pre.copy');
    for (var i = 0; i < blocks.length; i++) {
      (function (block) {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'copy-button';
        button.textContent = 'Copy';
        button.addEventListener('click', function () {
          var done = function () { button.textContent = 'Copied'; setTimeout(function () { button.textContent = 'Copy'; }, 2000); };
          if (navigator.clipboard) navigator.clipboard.writeText(block.textContent).then(done, function () {});
        });
        block.parentNode.insertBefore(button, block.nextSibling);
      })(blocks[i]);
    }
  }
  function localTimes() {
    var times = document.querySelectorAll('time[data-local]');
    for (var i = 0; i < times.length; i++) {
      var moment = new Date(times[i].getAttribute('datetime'));
      if (isNaN(moment.getTime())) continue;
      times[i].title = times[i].textContent;
      times[i].textContent = moment.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
    }
  }
  function setUp() {
    copyButtons();
    localTimes();
    var marks = document.querySelectorAll('figure.chart svg rect, figure.chart svg circle, figure.chart svg path');
    for (var i = 0; i < marks.length; i++) {
      var title = marks[i].querySelector('title');
      if (!title) continue;
      marks[i].setAttribute('data-tip', title.textContent);
      marks[i].removeChild(title);
    }
    tip = document.createElement('div');
    tip.className = 'chart-tip';
    tip.setAttribute('role', 'status');
    tip.hidden = true;
    document.body.appendChild(tip);
    document.addEventListener('pointerover', show);
    document.addEventListener('pointerdown', show);
    document.addEventListener('pointerout', function (event) {
      if (event.pointerType === 'mouse' && event.target.hasAttribute && event.target.hasAttribute('data-tip')) tip.hidden = true;
    });
    window.addEventListener('scroll', function () { tip.hidden = true; }, { passive: true });
  }
  function show(event) {
    var mark = event.target;
    if (!mark || !mark.getAttribute || !mark.getAttribute('data-tip')) {
      if (event.type === 'pointerdown') tip.hidden = true;
      return;
    }
    tip.textContent = mark.getAttribute('data-tip');
    tip.hidden = false;
    var x = event.pageX + 12, y = event.pageY - 36;
    var room = document.documentElement.clientWidth + window.scrollX - tip.offsetWidth - 8;
    tip.style.left = Math.max(window.scrollX + 4, Math.min(x, room)) + 'px';
    tip.style.top = Math.max(window.scrollY + 4, y) + 'px';
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setUp); else setUp();
})();
