// The QR code of a record's public verification link <origin>/v/<leaf> (码上监督).
// qrcode is CommonJS and cannot be loaded as a browser module without a bundler,
// so the gateway renders the SVG (/qr.svg?link=…); the link is also shown as text.
import { h, isHash32 } from './dom.js';
import { t } from './i18n.js';

export function verificationLink(leaf) {
  return `${location.origin}/v/${leaf}`;
}

/** A figure with the QR image and the link; null when `leaf` is not a 32-byte hash. */
export function qrFigure(leaf) {
  if (!isHash32(leaf)) return null;
  const link = verificationLink(leaf);
  return h(
    'figure',
    { class: 'qr', id: 'receipt-qr', data: { link } },
    h('img', { src: `/qr.svg?link=${encodeURIComponent(link)}`, alt: `${t('qr.alt')}: ${link}`, width: '176', height: '176' }),
    h(
      'figcaption',
      {},
      h('span', { class: 'qr-heading' }, t('qr.heading')),
      h('span', { class: 'hint' }, t('qr.caption')),
      h('a', { href: link, class: 'qr-link' }, link),
    ),
  );
}
