// Soot's charts: the exact value of a bar, dot or line on hover and on touch. Each mark carries an SVG <title>
// (which browsers show late, and never on touch); this moves it to a tip that follows the pointer. Without this
// script the page still works: the titles stay, and every chart has a data table.
(function () {
  'use strict';
  var tip = null;
  function setUp() {
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
