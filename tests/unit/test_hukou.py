"""户籍 (SPEC §3, issue 12): who is a Wenzhou local, decided by the ID number's region prefix and a
declared hukou read as a place name — never a substring. Each test is one policy sentence."""

from __future__ import annotations

import pytest

from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.core.identity import id_check_character
from wzcheckin.places import PlaceReading
from wzcheckin.programme import HukouStatus, load_programme

PROGRAMME = load_programme(DEFAULT_PROGRAMME)


def id_number(region: str, born: str = "19900101", sequence: str = "001") -> str:
    first17 = region + born + sequence
    return first17 + id_check_character(first17)


SICHUAN = id_number("510122")
LUCHENG = id_number("330302")


# Every current and former county-level code of Wenzhou (GB/T 2260) since ID numbers were issued.
WENZHOU_CODES = {
    "330302": "鹿城区", "330303": "龙湾区", "330304": "瓯海区", "330305": "洞头区", "330321": "瓯海县",
    "330322": "洞头县", "330323": "乐清县", "330324": "永嘉县", "330325": "瑞安县", "330326": "平阳县",
    "330327": "苍南县", "330328": "文成县", "330329": "泰顺县", "330381": "瑞安市", "330382": "乐清市",
    "330383": "龙港市",
}


@pytest.mark.parametrize("code", sorted(WENZHOU_CODES))
def test_an_id_number_from_any_wenzhou_county_means_wenzhou_hukou(code):
    assert PROGRAMME.is_home_region_id(id_number(code))
    assert PROGRAMME.hukou_status("", id_number(code)) is HukouStatus.HOME


def test_an_id_number_from_elsewhere_means_a_non_local_worker():
    assert PROGRAMME.hukou_status("", SICHUAN) is HukouStatus.NON_LOCAL
    # Taizhou's 温岭 (3310…) and Hangzhou (3301…) are Zhejiang, not Wenzhou.
    assert PROGRAMME.hukou_status("", id_number("331081")) is HukouStatus.NON_LOCAL
    assert PROGRAMME.hukou_status("", id_number("330106")) is HukouStatus.NON_LOCAL


# The declarations that were read as non-local when only "温州" was searched for (issue 12).
WENZHOU_DECLARATIONS = ["浙江省乐清市", "瑞安", "浙江苍南", "龙港市", "鹿城区", "溫州市", "温州", "浙江省温州市",
                        "中国浙江省温州市瓯海区娄桥街道", "樂清市柳市鎮", "永嘉县", "平陽縣", "文成", "泰順縣",
                        "洞頭", "龍灣區", "蒼南縣", "Wenzhou", "浙江 温州 龙湾"]


@pytest.mark.parametrize("declared", WENZHOU_DECLARATIONS)
def test_a_declared_wenzhou_place_is_read_as_wenzhou_with_or_without_suffix_or_province_in_either_script(declared):
    assert PROGRAMME.home_places.read(declared) is PlaceReading.HOME


@pytest.mark.parametrize("declared", ["上海市温州路", "温岭市", "浙江省杭州市", "四川成都", "河南省周口市",
                                      "山西省平阳", "广东省温州街", "江苏"])
def test_a_place_that_only_contains_a_wenzhou_name_is_not_wenzhou(declared):
    assert PROGRAMME.home_places.read(declared) is PlaceReading.ELSEWHERE


def test_a_wenzhou_declaration_with_a_wenzhou_id_number_is_wenzhou_hukou():
    assert PROGRAMME.hukou_status("浙江省乐清市", id_number("330382")) is HukouStatus.HOME


def test_a_wenzhou_declaration_with_an_id_number_from_elsewhere_is_to_be_reviewed():
    assert PROGRAMME.hukou_status("浙江省乐清市", SICHUAN) is HukouStatus.REVIEW


def test_a_declaration_from_elsewhere_with_a_wenzhou_id_number_is_to_be_reviewed():
    assert PROGRAMME.hukou_status("四川省成都市", LUCHENG) is HukouStatus.REVIEW


def test_a_declaration_from_elsewhere_with_an_id_number_from_elsewhere_is_non_local():
    assert PROGRAMME.hukou_status("四川省成都市", SICHUAN) is HukouStatus.NON_LOCAL


def test_the_place_names_live_in_the_programme_file():
    assert PROGRAMME.hukou.counties == ["鹿城", "龙湾", "瓯海", "洞头", "瑞安", "乐清", "龙港", "永嘉", "平阳", "苍南",
                                        "文成", "泰顺"]
    assert set(PROGRAMME.programme.home_region_prefixes) >= set(WENZHOU_CODES)
