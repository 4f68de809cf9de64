/* Interprets the expression trees that the server sends as JSON, with exactly
   the rules of survey_app/questionnaire/expressions.py (its docstring describes
   the tree). There is no parser here. Exposes window.SurveyLogic. */
(function () {
  'use strict';
  var LIMIT = 1e15;
  var MAX_DIGITS = 10;
  var has = function (object, key) { return Object.prototype.hasOwnProperty.call(object, key); };
  var isNum = function (v) { return typeof v === 'number'; };

  /* A number within ±10^15 (never -0), or null for anything else. */
  function num(v) { return isNum(v) && Math.abs(v) <= LIMIT ? (v === 0 ? 0 : v) : null; }

  /* null, false, 0, NaN, '' and [] are false; everything else is true. */
  function truthy(v) {
    if (Array.isArray(v)) return v.length > 0;
    return typeof v === 'object' ? v !== null : Boolean(v);
  }

  /* Equality of single values: numbers, strings and booleans each with their own kind. */
  function same(a, b) {
    if (a == null || b == null) return a == null && b == null;
    if (isNum(a) && isNum(b)) return a === b;
    return typeof a === typeof b && (typeof a === 'string' || typeof a === 'boolean') && a === b;
  }

  function equal(a, b) {
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.length === b.length && a.every(function (x, i) { return same(x, b[i]); });
    }
    return same(a, b);
  }

  function member(x, list) { return Array.isArray(list) && list.some(function (y) { return same(x, y); }); }

  /* Strings compare by code point, as in Python (not by UTF-16 unit). */
  function compareText(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < x.length && i < y.length; i++) {
      if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
    }
    return x.length - y.length;
  }

  function ordering(test) {
    return function (a, b) {
      if (isNum(a) && isNum(b)) return test(a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN);
      return typeof a === 'string' && typeof b === 'string' && test(compareText(a, b));
    };
  }

  /* Applies f to numbers within the limits; null for anything else or a result beyond them. */
  function arith(f) {
    return function () {
      var xs = Array.prototype.map.call(arguments, num);
      return xs.indexOf(null) >= 0 ? null : num(f.apply(null, xs));
    };
  }

  /* Half away from zero on the exact binary value, like Python's Decimal ROUND_HALF_UP. */
  function round(x, digits) {
    var d = digits === undefined ? 0 : num(digits);
    x = num(x);
    if (x === null || !Number.isInteger(d) || d < 0 || d > MAX_DIGITS) return null;
    return num(Number(x.toFixed(d)));
  }

  var OPERATORS = {
    'not': function (a) { return !truthy(a); },
    '=': equal,
    '!=': function (a, b) { return !equal(a, b); },
    'in': member,
    'not in': function (a, b) { return !member(a, b); },
    '<': ordering(function (c) { return c < 0; }),
    '<=': ordering(function (c) { return c <= 0; }),
    '>': ordering(function (c) { return c > 0; }),
    '>=': ordering(function (c) { return c >= 0; }),
    '+': arith(function (a, b) { return a + b; }),
    '-': arith(function (a, b) { return a - b; }),
    '*': arith(function (a, b) { return a * b; }),
    '/': arith(function (a, b) { return b === 0 ? NaN : a / b; }),
    '%': arith(function (a, b) { // the sign of the divisor, as in Python
      if (b === 0) return NaN;
      var r = a % b;
      return r !== 0 && (r < 0) !== (b < 0) ? r + b : r;
    }),
    'neg': arith(function (a) { return -a; })
  };

  var FUNCTIONS = {
    answered: function (v) { return v != null && v !== '' && !(Array.isArray(v) && v.length === 0); },
    count: function (v) { return Array.isArray(v) ? v.length : v == null ? 0 : null; },
    selected: function (q, v) { return Array.isArray(q) ? member(v, q) : typeof q === 'string' && q === v; },
    len: function (v) { return typeof v === 'string' ? Array.from(v).length : v == null ? 0 : null; },
    min: arith(Math.min),
    max: arith(Math.max),
    abs: arith(Math.abs),
    round: round,
    coalesce: function () {
      for (var i = 0; i < arguments.length; i++) if (arguments[i] != null) return arguments[i];
      return null;
    }
  };

  function evaluate(node, values) {
    var args = node.args;
    var all = function () { return args.map(function (arg) { return evaluate(arg, values); }); };
    switch (node.op) {
      case 'lit': return node.value;
      case 'ref': return has(values, node.name) && values[node.name] !== undefined ? values[node.name] : null;
      case 'list': return node.items.map(function (item) { return evaluate(item, values); });
      case 'and': return truthy(evaluate(args[0], values)) && truthy(evaluate(args[1], values));
      case 'or': return truthy(evaluate(args[0], values)) || truthy(evaluate(args[1], values));
      case 'call':
        if (node.fn === 'if') return evaluate(args[truthy(evaluate(args[0], values)) ? 1 : 2], values);
        return has(FUNCTIONS, node.fn) ? FUNCTIONS[node.fn].apply(null, all()) : null;
    }
    return has(OPERATORS, node.op) ? OPERATORS[node.op].apply(null, all()) : null;
  }

  window.SurveyLogic = {
    evaluate: function (tree, values) { return evaluate(tree, values || {}); },
    truthy: truthy
  };
}());
