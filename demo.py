"""Demo employees for trainers and for trying the portal. Only used in demo mode."""

from datetime import date

import models

# NIP layout: lahir YYYYMMDD + TMT YYYYMM (PNS) or YYYY21 (PPPK) + gender + sequence.
DEMO_EMPLOYEES = [
    dict(nip="199001012020011001", nik="3273010101900001", nama="Budi Santoso",
         email="budi.santoso@demo.asn.local", telepon="081234560001", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Kota Bandung",
         unit_kerja="Dinas Komunikasi dan Informatika",
         jabatan="Pranata Komputer Ahli Pertama", pangkat="Penata Muda", golongan="III/a",
         tmt_cpns=date(2020, 1, 1), tmt_pangkat=date(2021, 4, 1)),
    dict(nip="198507152010012002", nik="3578015507850002", nama="Siti Rahmawati, S.E.",
         email="siti.rahmawati@demo.asn.local", telepon="081234560002", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Kota Surabaya",
         unit_kerja="Badan Kepegawaian dan Pengembangan SDM",
         jabatan="Analis Sumber Daya Manusia Aparatur Ahli Muda", pangkat="Penata Tingkat I",
         golongan="III/d", tmt_cpns=date(2010, 1, 1), tmt_pangkat=date(2022, 10, 1)),
    dict(nip="197803202005011003", nik="7371012003780003", nama="Andi Mappasessu",
         email="andi.mappasessu@demo.asn.local", telepon="081234560003", jenis_asn="PNS",
         status="aktif", instansi="Pemerintah Provinsi Sulawesi Selatan", unit_kerja="Biro Umum",
         jabatan="Kepala Bagian Tata Usaha", pangkat="Pembina", golongan="IV/a",
         tmt_cpns=date(2005, 1, 1), tmt_pangkat=date(2019, 4, 1)),
    dict(nip="199505102023212004", nik="5171015005950004", nama="Ni Luh Putu Ayu Lestari",
         email="ayu.lestari@demo.asn.local", telepon="081234560004", jenis_asn="PPPK",
         status="aktif", instansi="Pemerintah Provinsi Bali", unit_kerja="SMA Negeri 1 Denpasar",
         jabatan="Guru Ahli Pertama", pangkat="", golongan="IX",
         tmt_cpns=date(2023, 3, 1), tmt_pangkat=None),
    dict(nip="199208172022211005", nik="1271011708920005", nama="Rizky Pratama Nasution",
         email="rizky.nasution@demo.asn.local", telepon="081234560005", jenis_asn="PPPK",
         status="aktif", instansi="Pemerintah Kota Medan", unit_kerja="Puskesmas Medan Johor",
         jabatan="Perawat Terampil", pangkat="", golongan="VII",
         tmt_cpns=date(2022, 6, 1), tmt_pangkat=None),
    dict(nip="196512251990031006", nik="3471012512650006", nama="Drs. Hartono Wibowo",
         email="hartono.wibowo@demo.asn.local", telepon="081234560006", jenis_asn="PNS",
         status="pensiun", instansi="Pemerintah Daerah Istimewa Yogyakarta",
         unit_kerja="Dinas Pendidikan, Pemuda, dan Olahraga", jabatan="Pengawas Sekolah",
         pangkat="Pembina Utama Muda", golongan="IV/c",
         tmt_cpns=date(1990, 3, 1), tmt_pangkat=date(2014, 4, 1)),
]
DEMO_NIPS = [e["nip"] for e in DEMO_EMPLOYEES]


# Career history of the first three demo employees: (jabatan, unit kerja, TMT) and (golongan, pangkat, TMT).
DEMO_POSITIONS = {
    "199001012020011001": [("CPNS Pranata Komputer", "Dinas Komunikasi dan Informatika", date(2020, 1, 1)),
                           ("Pranata Komputer Ahli Pertama", "Dinas Komunikasi dan Informatika", date(2021, 4, 1))],
    "198507152010012002": [("Pengelola Kepegawaian", "Bagian Umum", date(2010, 1, 1)),
                           ("Analis Kepegawaian Ahli Pertama", "BKPSDM", date(2014, 10, 1)),
                           ("Analis Sumber Daya Manusia Aparatur Ahli Muda", "BKPSDM", date(2019, 1, 2))],
    "197803202005011003": [("Staf Tata Usaha", "Biro Umum", date(2005, 1, 1)),
                           ("Kepala Subbagian Rumah Tangga", "Biro Umum", date(2012, 7, 2)),
                           ("Kepala Bagian Tata Usaha", "Biro Umum", date(2019, 4, 1))],
}
DEMO_RANKS = {
    "199001012020011001": [("III/a", "Penata Muda", date(2021, 4, 1))],
    "198507152010012002": [("III/a", "Penata Muda", date(2010, 1, 1)),
                           ("III/b", "Penata Muda Tingkat I", date(2014, 4, 1)),
                           ("III/c", "Penata", date(2018, 4, 1)), ("III/d", "Penata Tingkat I", date(2022, 10, 1))],
    "197803202005011003": [("III/a", "Penata Muda", date(2005, 1, 1)),
                           ("III/d", "Penata Tingkat I", date(2015, 4, 1)), ("IV/a", "Pembina", date(2019, 4, 1))],
}


def seed():
    """Create the demo employees (or bring them back to their listed data), with their
    career history and a few small generated PDF documents."""
    with models.db.atomic():
        for data in DEMO_EMPLOYEES:
            (models.Employee.insert(**data)
             .on_conflict(conflict_target=[models.Employee.nip],
                          preserve=[getattr(models.Employee, k) for k in data if k != "nip"])
             .execute())
        for nip, positions in DEMO_POSITIONS.items():
            employee = models.Employee.by_nip(nip)
            if models.PositionHistory.of(employee).exists():
                continue
            for jabatan, unit, tmt in positions:
                models.PositionHistory.create(employee=employee, jabatan=jabatan, unit_kerja=unit, tmt=tmt,
                                              nomor_sk=f"821/{tmt.year}/{employee.id:03d}")
            for golongan, pangkat, tmt in DEMO_RANKS[nip]:
                models.RankHistory.create(employee=employee, golongan=golongan, pangkat=pangkat, tmt=tmt,
                                          nomor_sk=f"823/{tmt.year}/{employee.id:03d}")
            for jenis, tmt in (("SK CPNS", positions[0][2]), ("SK Pangkat Terakhir", DEMO_RANKS[nip][-1][2])):
                content = tiny_pdf([jenis, employee.nama, f"NIP {employee.nip}", f"TMT {tmt:%d-%m-%Y}",
                                    "DOKUMEN CONTOH - MODE DEMO"])
                models.Document.create(employee=employee, jenis=jenis, nomor=f"800/{tmt.year}/{employee.id:03d}",
                                       tanggal=tmt, filename=f"{jenis.lower().replace(' ', '-')}-{nip}.pdf",
                                       size=len(content), content=content)


def tiny_pdf(lines) -> bytes:
    """A valid one-page PDF with a few lines of text (Helvetica, no embedded fonts)."""
    def escape(text):
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    text = "BT /F1 14 Tf 72 760 Td 18 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        "/Contents 4 0 R >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def employees():
    return list(models.Employee.select().where(models.Employee.nip.in_(DEMO_NIPS))
                .order_by(models.Employee.id))


def reset():
    """Every demo account back to the first-login state (NIK as password, no MFA)."""
    seed()
    ids = models.Employee.select(models.Employee.id).where(models.Employee.nip.in_(DEMO_NIPS))
    models.Account.delete().where(models.Account.employee.in_(ids)).execute()
