"""Printed activation letters (ASN_FIRST_LOGIN=letter, or for anyone without an e-mail on
record): one A4 page per employee with a single-use activation code that replaces the
NIK at the first sign-in. The codes exist only on paper; the database keeps keyed hashes."""

from datetime import timedelta

from fpdf import FPDF

import models
from security import now


def _latin1(text: str) -> str:
    # The built-in PDF fonts cover Latin-1; names with other letters still print readably.
    return text.encode("latin-1", "replace").decode("latin-1")


def activation_letters(employees, settings, base_url: str, helpdesk: str) -> tuple[bytes, int]:
    """A PDF with a letter for each employee (issuing each a new code, which voids any
    earlier letter of theirs) and how many letters it holds."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title("Surat aktivasi akun Portal ASN Digital")
    count = 0
    for employee in employees:
        code = models.ActivationLetter.issue(employee, settings)
        expires = (now() + timedelta(days=models.ACTIVATION_LETTER_DAYS)).strftime("%d-%m-%Y")
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, "Surat Aktivasi Akun Portal ASN Digital", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.cell(0, 6, _latin1(employee.instansi), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        for label, value in (("Nama", employee.nama), ("NIP", employee.nip), ("Unit kerja", employee.unit_kerja)):
            pdf.cell(35, 7, label)
            pdf.cell(0, 7, _latin1(f": {value}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.multi_cell(0, 6, _latin1(
            "Kode aktivasi di bawah ini menggantikan NIK sebagai kata sandi awal Anda. Kode ini "
            "hanya untuk Anda, hanya dapat dipakai satu kali, dan berlaku sampai " + expires + "."))
        pdf.ln(4)
        pdf.set_font("Courier", "B", 26)
        pdf.cell(0, 16, code, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, "Cara masuk pertama kali", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        steps = (f"1. Buka {base_url}/login di browser.",
                 "2. Isi NIP Anda, dan sebagai kata sandi ketik kode aktivasi di atas (tanda hubung boleh).",
                 "3. Buat kata sandi baru Anda sendiri.",
                 "4. Aktifkan verifikasi dua langkah (MFA) dengan Google Authenticator atau FreeOTP.")
        for step in steps:
            pdf.multi_cell(0, 6, _latin1(step), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        pdf.multi_cell(0, 6, _latin1(
            "Simpan surat ini di tempat aman sampai akun Anda aktif, lalu musnahkan. Jangan berikan "
            "kode ini kepada siapa pun, termasuk petugas. Surat hilang atau kode tidak berlaku? "
            f"Hubungi {helpdesk}."))
        count += 1
    if not count:
        pdf.add_page()
        pdf.set_font("Helvetica", "", 12)
        pdf.cell(0, 10, "Tidak ada pegawai yang memerlukan surat aktivasi.")
    return bytes(pdf.output()), count
