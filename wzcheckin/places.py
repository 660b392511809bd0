"""Places of household registration (户籍), beside the programme that names the home region: the
provinces of the ID numbers' first two digits (GB/T 2260), and a declared hukou read as a place
name (SPEC §3).

A declared hukou is matched as an address read from the top — optional country, optional
province, then the prefecture-level city, then the county-level unit — never as a substring:
"上海市温州路" is Shanghai, "温岭市" is not 温州, "浙江苍南" is 苍南县 of Wenzhou. Traditional
characters are folded to simplified first (OpenCC), so 溫州市 and 樂清市 read as 温州市 and 乐清市.
Which places are home is the programme file's to say (``[hukou]``); this module only
reads addresses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import opencc

PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
    "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
    "63": "青海", "64": "宁夏", "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}
# Suffixes a province name may carry (浙江省, 广西壮族自治区, 北京市).
_PROVINCE_SUFFIXES = ("省", "市", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区")
# Suffixes of prefecture- and county-level units.
_UNIT_SUFFIXES = ("市", "区", "县", "自治县", "地区")
_NOISE = re.compile(r"[\s·・,，、.。()（）\-_/]+")


class PlaceReading(StrEnum):
    HOME = "home"            # names the home city or one of its county-level units
    ELSEWHERE = "elsewhere"  # names anything else (another province, city, or unreadable text)
    BLANK = "blank"          # nothing declared


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise_place(text: str) -> str:
    """NFKC, traditional → simplified, lower-case Latin, punctuation and spaces removed."""
    folded = unicodedata.normalize("NFKC", text or "")
    folded = _to_simplified().convert(folded)
    return _NOISE.sub("", folded).lower()


def _strip_name(text: str, names: tuple[str, ...], suffixes: tuple[str, ...]) -> str | None:
    """``text`` without a leading ``name`` (+ optional suffix), or None when it does not start
    with one. Longest names first, so 温州 is not taken for 温."""
    for name in sorted(names, key=len, reverse=True):
        if text.startswith(name):
            rest = text[len(name):]
            for suffix in sorted(suffixes, key=len, reverse=True):
                if rest.startswith(suffix):
                    return rest[len(suffix):]
            return rest
    return None


@dataclass(frozen=True)
class HomePlaces:
    """The home region as the programme file names it: its province, its city, and the city's
    county-level units (each without 市/区/县; simplified; Latin names in lower case)."""

    province: tuple[str, ...]
    city: tuple[str, ...]
    counties: tuple[str, ...]

    def read(self, declared: str | None) -> PlaceReading:
        text = normalise_place(declared or "")
        if not text:
            return PlaceReading.BLANK
        text = text.removeprefix("中国").removeprefix("中华人民共和国").removeprefix("china")
        after_province = _strip_name(text, self.province, _PROVINCE_SUFFIXES)
        if after_province is None:
            # Another province named first: not home, whatever follows.
            other = _strip_name(text, tuple(PROVINCES.values()), _PROVINCE_SUFFIXES)
            if other is not None:
                return PlaceReading.ELSEWHERE
            after_province = text
        after_city = _strip_name(after_province, self.city, _UNIT_SUFFIXES)
        if after_city is not None:
            return PlaceReading.HOME
        if _strip_name(after_province, self.counties, _UNIT_SUFFIXES) is not None:
            return PlaceReading.HOME
        return PlaceReading.ELSEWHERE
