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


def seed():
    """Create the demo employees, or bring them back to their listed data."""
    with models.db.atomic():
        for data in DEMO_EMPLOYEES:
            (models.Employee.insert(**data)
             .on_conflict(conflict_target=[models.Employee.nip],
                          preserve=[getattr(models.Employee, k) for k in data if k != "nip"])
             .execute())


def employees():
    return list(models.Employee.select().where(models.Employee.nip.in_(DEMO_NIPS))
                .order_by(models.Employee.id))


def reset():
    """Every demo account back to the first-login state (NIK as password, no MFA)."""
    seed()
    ids = models.Employee.select(models.Employee.id).where(models.Employee.nip.in_(DEMO_NIPS))
    models.Account.delete().where(models.Account.employee.in_(ids)).execute()
