"""Help centre (Bantuan): guides, the eight common problems, FAQ, safety tips; a search
that works without JavaScript; and the links that every error message points to."""

import html
import re
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, has_request_context, render_template, request, url_for
from markupsafe import Markup

from views import app_settings, built_once, rendered_once, respond

bp = Blueprint("help", __name__)


@dataclass(frozen=True)
class Topic:
    slug: str  # also the file name in templates/help/topics/ and, for the eight problems, the scenario
    title: str
    summary: str
    section: str

    @property
    def url(self) -> str:
        # The help centre lists every topic: each URL is built once, not on every view.
        if not has_request_context():
            return url_for("help.topic", slug=self.slug)
        return built_once(("help topic", self.slug), lambda: url_for("help.topic", slug=self.slug))


SECTIONS = {
    "panduan": "Panduan",
    "masalah": "Delapan masalah yang sering terjadi",
    "lainnya": "Masalah lain saat masuk",
    "faq": "Pertanyaan umum (FAQ)",
    "keamanan": "Keamanan akun",
}

TOPICS = [
    Topic("cara-masuk", "Cara masuk langkah demi langkah",
          "NIP, kata sandi (masuk pertama kali: NIK), lalu kode OTP.", "panduan"),
    Topic("aktifkan-mfa", "Mengaktifkan MFA dengan Google Authenticator atau FreeOTP",
          "Pasang aplikasi, pindai kode QR atau ketik kunci, masukkan kode, simpan kode pemulihan.",
          "panduan"),
    Topic("passkey", "Masuk dengan sidik jari atau wajah (passkey)",
          "Tanpa kata sandi dan OTP; sidik jari tidak pernah keluar dari ponsel; ponsel hilang: hapus passkey.",
          "panduan"),
    Topic("qr-tidak-muncul", "Kode QR tidak muncul",
          "Pakai kunci manual atau tautan Buka di aplikasi autentikator.", "masalah"),
    Topic("kode-otp-tidak-valid", "Kode OTP tidak valid (jam ponsel tidak sinkron)",
          "Nyalakan tanggal & waktu otomatis di ponsel.", "masalah"),
    Topic("salah-memasukkan-otp", "Salah memasukkan OTP atau kode kedaluwarsa",
          "Ketik kode yang sedang tampil sebelum waktunya habis; 5 kali salah mengunci akun.",
          "masalah"),
    Topic("gagal-login-setelah-reset", "Gagal masuk setelah atur ulang kata sandi",
          "Pakai tautan di email terbaru dan kata sandi baru; kode OTP tetap diminta.", "masalah"),
    Topic("autentikator-hilang", "Google Authenticator terhapus atau ponsel hilang",
          "Masuk dengan kode pemulihan, atau minta helpdesk mereset MFA.", "masalah"),
    Topic("otp-tidak-muncul", "Kode OTP tidak muncul di aplikasi",
          "Tambahkan ulang akun di aplikasi: pindai kode QR lagi atau ketik kuncinya.", "masalah"),
    Topic("perangkat-tidak-terdaftar", "Perangkat tidak terdaftar",
          "Pakai ponsel yang dipakai saat memindai kode QR; namanya tampil di halaman OTP.",
          "masalah"),
    Topic("error-aktivasi-mfa", "Gagal aktivasi MFA",
          "Hapus akun lama di aplikasi, pindai kode QR yang tampil sekarang.", "masalah"),
    Topic("gagal-masuk", "NIP atau kata sandi salah, NIP tidak ditemukan",
          "Format NIP, kata sandi awal NIK, huruf besar-kecil, status kepegawaian.", "lainnya"),
    Topic("tidak-ada-kontak", "Kode verifikasi masuk pertama kali tidak sampai",
          "Kode dikirim ke email dan ponsel yang tercatat; data kosong atau lama: helpdesk.", "lainnya"),
    Topic("akun-terkunci", "Akun terkunci",
          "Tunggu sampai kunci berakhir, atau buat kata sandi baru lewat Lupa kata sandi.", "lainnya"),
    Topic("lupa-kata-sandi", "Lupa kata sandi",
          "Minta tautan lewat email; email tidak aktif: helpdesk.", "lainnya"),
    Topic("halaman-tidak-bisa-dibuka", "Halaman tidak bisa dibuka",
          "Periksa koneksi, hapus cache, coba di luar jam sibuk.", "lainnya"),
    Topic("faq", "Pertanyaan yang sering diajukan",
          "Nama pengguna, kata sandi awal, kewajiban MFA, e-Kinerja, akses dari ponsel.", "faq"),
    Topic("tips-keamanan", "Tips keamanan akun",
          "Kata sandi kuat dan unik, jangan bagikan OTP, kunci layar ponsel.", "keamanan"),
    Topic("phishing", "Mengenali penipuan (phishing)",
          "Periksa alamat resmi; petugas tidak pernah meminta kata sandi atau OTP.", "keamanan"),
]
BY_SLUG = {t.slug: t for t in TOPICS}
TOPICS_BY_SECTION = {key: [t for t in TOPICS if t.section == key] for key in SECTIONS}


@bp.app_template_global()
def help_topic(slug: str) -> Topic:
    """For the links next to error messages: {{ help_topic('akun-terkunci').url }}."""
    return BY_SLUG[slug]


def _context():
    cfg = current_app.config
    return {"contact": cfg["HELPDESK_CONTACT"],
            "official_url": (cfg["BASE_URL"] or request.host_url).rstrip("/"),
            "max_failed": app_settings().max_failed_logins, "lockout_minutes": app_settings().lockout_minutes}


def _plain_text(topic: Topic, context: dict) -> str:
    body = render_template(f"help/topics/{topic.slug}.html", **context)
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return re.sub(r" ([,.;:!?)])", r"\1", words)  # "kata , lalu" from tags becomes "kata, lalu"


@dataclass
class Hit:
    topic: Topic
    before: str
    match: str
    after: str


def search(query: str, context: dict) -> list:
    """Topics whose title, summary or text hold every word of `query` (case-insensitive),
    those with the words in their title first, each with a snippet around the words."""
    words = query.lower().split()[:8]
    scored = []
    for topic in TOPICS:
        body = _plain_text(topic, context)
        everything = f"{topic.title} {topic.summary} {body}".lower()
        if not all(word in everything for word in words):
            continue
        score = sum(10 * (word in topic.title.lower()) + everything.count(word) for word in words)
        scored.append((score, _snippet(topic, body, words)))
    scored.sort(key=lambda item: -item[0])  # stable: equal scores keep the help centre's order
    return [hit for _, hit in scored]


def _snippet(topic: Topic, body: str, words: list) -> Hit:
    lowered = body.lower()
    phrase = " ".join(words)
    start = lowered.find(phrase)
    if start < 0:
        word = next((w for w in words if w in lowered), None)
        if word is None:
            return Hit(topic, topic.summary, "", "")
        start, phrase = lowered.find(word), word
    end = start + len(phrase)
    return Hit(topic, ("…" if start > 80 else "") + body[max(0, start - 80):start], body[start:end],
               body[end:end + 120] + ("…" if end + 120 < len(body) else ""))


def _topic_list() -> Markup:
    """The help centre's list of every topic by section never changes: rendered once."""
    return rendered_once(("help topics",), "help/_topic_list.html", sections=SECTIONS, topics=TOPICS_BY_SECTION)


@bp.get("/")
def index():
    query = " ".join(request.args.get("q", "")[:100].split())
    context = _context()
    hits = search(query, context) if query else None
    return respond("help/index.html", "results", topic_list=_topic_list(), query=query, hits=hits, **context)


def _topic_page(slug):
    topic = BY_SLUG.get(slug)
    if topic is None:
        abort(404)
    related = [t for t in TOPICS_BY_SECTION[topic.section] if t is not topic]
    return respond("help/topic.html", "content", topic=topic, section=SECTIONS[topic.section],
                   related=related, **_context())


@bp.get("/autentikator-hilang")
def lost_authenticator():
    return _topic_page("autentikator-hilang")


@bp.get("/<slug>")
def topic(slug):
    return _topic_page(slug)
