"""Province-level names for the first two digits of an ID number (GB/T 2260), used to show a
worker the hukou derived from their ID number. Wenzhou (3303) is named on its own."""

PROVINCES = {
    "11": "北京", "12": "天津", "13": "河北", "14": "山西", "15": "内蒙古", "21": "辽宁", "22": "吉林",
    "23": "黑龙江", "31": "上海", "32": "江苏", "33": "浙江", "34": "安徽", "35": "福建", "36": "江西",
    "37": "山东", "41": "河南", "42": "湖北", "43": "湖南", "44": "广东", "45": "广西", "46": "海南",
    "50": "重庆", "51": "四川", "52": "贵州", "53": "云南", "54": "西藏", "61": "陕西", "62": "甘肃",
    "63": "青海", "64": "宁夏", "65": "新疆", "71": "台湾", "81": "香港", "82": "澳门",
}


def derived_hukou(id_number: str) -> str:
    """"浙江温州" for 3303…, otherwise the province, e.g. "四川"; "" when unknown."""
    if id_number.startswith("3303"):
        return "浙江温州"
    return PROVINCES.get(id_number[:2], "")
