/**
 * PDF rendering of reports with pdfkit: a title, the period, a table, and a bar chart drawn with
 * vector shapes (rectangles, lines, text), not an image.
 */
import PDFDocument from 'pdfkit';

export interface PdfTable {
  columns: string[];
  rows: string[][];
  /** Column widths in points; the rest share what is left. */
  widths?: number[];
}

export interface PdfChart {
  title: string;
  /** Bar labels (x axis) and values; `format` renders the axis values. */
  labels: string[];
  values: number[];
  format: (value: number) => string;
}

export interface PdfReport {
  title: string;
  subtitle: string;
  generatedAt: string;
  sections: Array<{ heading: string; table?: PdfTable; chart?: PdfChart; text?: string }>;
}

const MARGIN = 50;

export function renderPdf(report: PdfReport): Promise<Buffer> {
  // Uncompressed content streams: the text stays greppable by tools and tests (reports are small).
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    compress: false,
    info: { Title: report.title },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const width = doc.page.width - 2 * MARGIN;

  doc.font('Helvetica-Bold').fontSize(20).fillColor('#1f2937').text(report.title);
  doc.moveDown(0.3);
  doc.font('Helvetica').fontSize(11).fillColor('#4b5563').text(report.subtitle);
  doc.fontSize(9).text(`Generated ${report.generatedAt}`);
  doc.moveDown(1);

  for (const section of report.sections) {
    ensureSpace(doc, 80);
    doc.font('Helvetica-Bold').fontSize(13).fillColor('#111827').text(section.heading);
    doc.moveDown(0.4);
    if (section.text) doc.font('Helvetica').fontSize(10).fillColor('#374151').text(section.text);
    if (section.chart) drawChart(doc, section.chart, width);
    if (section.table) drawTable(doc, section.table, width);
    doc.moveDown(1);
  }
  doc.end();
  return done;
}

function ensureSpace(doc: PDFKit.PDFDocument, needed: number): void {
  if (doc.y + needed > doc.page.height - MARGIN) doc.addPage();
}

function drawTable(doc: PDFKit.PDFDocument, table: PdfTable, width: number): void {
  const fixed = table.widths ?? [];
  const free = width - fixed.reduce((s, w) => s + w, 0);
  const rest = table.columns.length - fixed.length;
  const widths = table.columns.map((_, i) => fixed[i] ?? free / Math.max(rest, 1));
  const rowHeight = 16;
  const drawRow = (cells: string[], header: boolean, shade: boolean): void => {
    ensureSpace(doc, rowHeight + 4);
    const y = doc.y;
    if (header) doc.rect(MARGIN, y - 2, width, rowHeight).fill('#e5e7eb');
    else if (shade) doc.rect(MARGIN, y - 2, width, rowHeight).fill('#f9fafb');
    let x = MARGIN;
    doc
      .font(header ? 'Helvetica-Bold' : 'Helvetica')
      .fontSize(8.5)
      .fillColor('#111827');
    cells.forEach((cell, i) => {
      const numeric = /^-?[\d,.]+$/.test(cell) && i > 0;
      doc.text(cell, x + 3, y + 2, {
        width: widths[i] - 6,
        height: rowHeight,
        ellipsis: true,
        lineBreak: false,
        align: numeric ? 'right' : 'left',
      });
      x += widths[i];
    });
    doc.x = MARGIN;
    doc.y = y + rowHeight;
  };
  drawRow(table.columns, true, false);
  table.rows.forEach((row, i) => drawRow(row, false, i % 2 === 1));
  doc
    .moveTo(MARGIN, doc.y)
    .lineTo(MARGIN + width, doc.y)
    .lineWidth(0.5)
    .stroke('#9ca3af');
}

function drawChart(doc: PDFKit.PDFDocument, chart: PdfChart, width: number): void {
  const height = 170;
  ensureSpace(doc, height + 50);
  const top = doc.y + 6;
  const left = MARGIN + 48;
  const plotWidth = width - 48;
  const bottom = top + height;
  const max = Math.max(...chart.values, 0);
  const scale = max > 0 ? max : 1;
  doc
    .font('Helvetica')
    .fontSize(9)
    .fillColor('#374151')
    .text(chart.title, MARGIN, top - 2);
  // Axes and grid lines with their values.
  doc.lineWidth(0.5);
  for (let i = 0; i <= 4; i++) {
    const y = bottom - (height - 20) * (i / 4);
    doc
      .moveTo(left, y)
      .lineTo(left + plotWidth, y)
      .stroke(i === 0 ? '#6b7280' : '#e5e7eb');
    doc
      .fontSize(7)
      .fillColor('#6b7280')
      .text(chart.format((scale * i) / 4), MARGIN, y - 4, { width: 44, align: 'right' });
  }
  const n = Math.max(chart.values.length, 1);
  const slot = plotWidth / n;
  const bar = Math.max(1, slot * 0.7);
  chart.values.forEach((value, i) => {
    const h = ((height - 20) * value) / scale;
    const x = left + i * slot + (slot - bar) / 2;
    if (h > 0) doc.rect(x, bottom - h, bar, h).fill('#2563eb');
    if (n <= 31 && (i % Math.ceil(n / 16) === 0 || i === n - 1)) {
      doc
        .fontSize(6.5)
        .fillColor('#6b7280')
        .text(chart.labels[i], x - 6, bottom + 3, { width: bar + 12, align: 'center' });
    }
  });
  doc.x = MARGIN;
  doc.y = bottom + 18;
}
