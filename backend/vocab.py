"""Controlled vocabularies of the core records, with the Chinese labels users see."""

from __future__ import annotations

INSTITUTION_KINDS = {
    "supporting_hospital": "支援医院",
    "county_hospital": "县级受援医院",
    "township_centre": "乡镇卫生院",
    "community_centre": "社区卫生服务中心",
}
INSTITUTION_LEVELS = {
    "tertiary_a": "三级甲等",
    "tertiary_b": "三级乙等",
    "tertiary": "三级",
    "secondary_a": "二级甲等",
    "secondary_b": "二级乙等",
    "secondary": "二级",
    "primary": "一级",
    "unrated": "未定级",
}
PROGRAMMES = {
    "counterpart_support": "对口帮扶",
    "team_support": "组团式帮扶",
    "medical_alliance": "医联体/医共体",
    "rural_physician": "万名医师支援农村卫生工程",
    "regional_aid": "援疆援藏援青",
    "other": "其他",
}
TITLES = {
    "resident_physician": "住院医师",
    "attending_physician": "主治医师",
    "associate_chief_physician": "副主任医师",
    "chief_physician": "主任医师",
    "nurse": "护士",
    "senior_nurse": "护师",
    "supervisor_nurse": "主管护师",
    "associate_chief_nurse": "副主任护师",
    "chief_nurse": "主任护师",
    "technician": "技士",
    "senior_technician": "技师",
    "supervisor_technician": "主管技师",
    "associate_chief_technician": "副主任技师",
    "chief_technician": "主任技师",
    "pharmacist": "药师",
    "manager": "管理人员",
    "other": "其他",
}
ROLES = {"expert": "派驻专家", "supervisor": "受援医院审核人", "hr": "派出医院人事", "admin": "管理员"}
SCOPED_ROLES = ("supervisor", "hr")
POSTS = {
    "president": "院长",
    "vice_president": "副院长",
    "department_head": "科主任",
    "deputy_department_head": "副科主任",
    "head_nurse": "护士长",
    "clinical_expert": "临床专家",
    "nursing_expert": "护理专家",
    "technical_expert": "医技专家",
    "management_expert": "管理专家",
}
LEADER_POSTS = ("president", "vice_president")
DEPLOYMENT_STATUSES = {"planned": "计划中", "active": "派驻中", "ended": "已结束", "cancelled": "已取消"}
