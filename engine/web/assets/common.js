// Shared by /wallboard and /desk: labels in English and Chinese, the
// language switch, and small formatting helpers. Plain JavaScript, no build
// step, nothing fetched from anywhere but this engine.
'use strict';

const ccr = (() => {
  const LANGUAGE_KEY = 'ccr.language';
  const strings = {en: {}, zh: {}};

  function initialLanguage() {
    const saved = localStorage.getItem(LANGUAGE_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
    return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
  }
  let language = initialLanguage();

  // Adds a page's labels: {en: {key: text}, zh: {key: text}}. "{0}", "{1}"
  // in a text are replaced by t()'s further arguments.
  function define(table) {
    for (const l of Object.keys(strings)) Object.assign(strings[l], table[l] || {});
  }

  function t(key, ...args) {
    const text = strings[language][key] ?? strings.en[key] ?? key;
    return text.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)] ?? ''));
  }

  // Elements name their label by data-i18n (text), data-i18n-placeholder,
  // data-i18n-label (aria-label) and data-i18n-title.
  function applyLabels(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    }
    for (const el of root.querySelectorAll('[data-i18n-label]')) {
      el.setAttribute('aria-label', t(el.dataset.i18nLabel));
    }
    for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  }

  const listeners = [];
  function setLanguage(l) {
    language = l === 'zh' ? 'zh' : 'en';
    localStorage.setItem(LANGUAGE_KEY, language);
    document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';
    applyLabels();
    for (const fn of listeners) fn(language);
  }

  // Wires a <select> of languages; `onChange` re-renders what is drawn by script.
  function languageSwitch(select, onChange) {
    if (onChange) listeners.push(onChange);
    select.value = language;
    select.addEventListener('change', () => setLanguage(select.value));
    setLanguage(language);
  }

  // 0.8123 -> "81.2 %"; null/undefined -> "—".
  function percent(ratio) {
    if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—';
    return `${(Math.round(ratio * 1000) / 10).toFixed(1)} %`;
  }

  // 75 -> "1:15", 3725 -> "1:02:05" (h:mm:ss), as wallboards show waits.
  function duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, '0');
    return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
  }

  // "CHANNEL_VOICE" -> the label of "channel.voice".
  function channelName(channel) {
    const c = String(channel || 'CHANNEL_UNSPECIFIED').replace('CHANNEL_', '').toLowerCase();
    return t(`channel.${c}`);
  }

  define({
    en: {
      'language': 'Language',
      'channel.voice': 'Voice', 'channel.chat': 'Chat', 'channel.email': 'Email',
      'channel.messaging': 'Messaging', 'channel.video': 'Video', 'channel.callback': 'Callback',
      'channel.unspecified': '—',
    },
    zh: {
      'language': '语言',
      'channel.voice': '语音', 'channel.chat': '在线聊天', 'channel.email': '邮件',
      'channel.messaging': '消息', 'channel.video': '视频', 'channel.callback': '回呼',
      'channel.unspecified': '—',
    },
  });

  return {define, t, applyLabels, setLanguage, languageSwitch, percent, duration, channelName,
          language: () => language};
})();
